"""Plain words addressed to Tandem, answered: an intent's short answer with buttons for the next
step, the offer to keep a partner's private words as today's note, or one gentle line that names
two things to try. Never silence."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot import actions
from bot.context import Ctx
from bot.messages import Button, Outgoing
from bot.render import one_line
from bot.safety.replies import crisis_replies
from bot.talk import offer
from bot.talk.phrases import TalkButton

# Runs a command as if typed, with its permission check: (ctx, name, arguments).
Runner = Callable[[Ctx, str, str], Awaitable[list[Outgoing]]]


def buttons_of(found: Sequence[TalkButton]) -> tuple[Button, ...]:
    return tuple(Button(b.label, actions.run(b.run)) for b in found)


async def answer(ctx: Ctx, run: Runner) -> list[Outgoing]:
    """Crisis words first, always; then what the words mean; then, from a partner in their
    private chat, the note offer; else the gentle line."""
    text = ctx.incoming.text
    care = crisis_replies(ctx, text)
    if care:
        return care
    talk = ctx.library.talk
    intent = talk.match(text)
    who = ctx.member.display_name if ctx.member is not None else ctx.incoming.user_name
    name = one_line(who)[:40] or "there"
    if intent is not None:
        if intent.run is not None:
            return await run(ctx, intent.run, "")
        assert intent.answer is not None
        if ctx.is_partner or intent.answer_new is None:
            said, buttons = intent.answer, intent.buttons
        else:
            said, buttons = intent.answer_new, intent.buttons_new
        return [ctx.reply(said.format(name=name), buttons=buttons_of(buttons))]
    if ctx.private and ctx.is_partner:
        return await offer.offer(ctx, text)
    if ctx.is_partner:
        return [ctx.reply(talk.unknown, buttons=buttons_of(talk.unknown_buttons))]
    return [ctx.reply(talk.unknown_new, buttons=buttons_of(talk.unknown_new_buttons))]
