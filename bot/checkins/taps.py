"""A partner's tap and note on a check-in: recorded, confirmed to them alone, a nudge for the
other, and the reveal once both have answered."""

from __future__ import annotations

from bot import actions
from bot.checkins import answers, hurt
from bot.context import Ctx, partners_of, shared_addresses
from bot.errors import UserError
from bot.messages import Address, Button, Outgoing
from bot.partners.joining import told_once
from bot.render import day_label
from bot.safety.replies import care_replies
from bot.store import CheckinAnswer, Delivery, Member, once


async def tap(ctx: Ctx, delivery: Delivery, score: int) -> list[Outgoing]:
    assert ctx.member is not None
    partners = await partners_of(ctx.session, ctx.space)
    skip = score == actions.SKIP
    rec = await answers.record(
        ctx.session,
        ctx.space,
        ctx.member,
        partners,
        delivery,
        ctx.now,
        score=None if skip else score,
        skip=skip,
    )
    said = "skipped" if skip else f"{score}/5"
    verb = "changed to" if rec.changed else "saved:"
    head = f"Thanks, {ctx.member.display_name}. Your check-in for {day_label(rec.day)} is {verb} {said}."
    replies: list[Outgoing] = []
    if rec.waiting_for:
        names = " and ".join(p.display_name for p in rec.waiting_for)
        rule = answers.rule_of(ctx.space, rec.answer)
        if rule == "together":
            head += f" You'll both see the answers when {names} has answered."
        elif rule == "never":
            head += " It stays private to you."
        replies += await nudge(ctx, rec)
    elif rec.complete_now:
        replies += await reveal(ctx, rec, partners)
    # Under instant, each score is posted as it comes; the last one is in the reveal itself,
    # which must not be followed by that score again.
    instant = ctx.space.reveal == rec.answer.reveal == "instant"
    if instant and not rec.changed and not rec.complete_now:
        replies += [
            Outgoing(
                to, f"{ctx.member.display_name}: {said} for {day_label(rec.day)}.", protect=True
            )
            for to in shared_addresses(ctx.space, partners)
        ]
    # The hurt partner's own question follows their score, in their private chat alone.
    if not skip and ctx.library.hurt is not None and hurt.asks(ctx, rec.answer):
        assert delivery.id is not None
        replies.insert(0, hurt.question_message(ctx, ctx.library.hurt, delivery.id))
    return [ctx.whisper(head), *await told_once(ctx), *replies]


async def nudge(ctx: Ctx, rec: answers.Recorded) -> list[Outgoing]:
    """One gentle word to a partner who hasn't answered yet; never a second one that day."""
    assert ctx.member is not None and ctx.space.id is not None
    nudges: list[Outgoing] = []
    for other in rec.waiting_for:
        assert other.id is not None
        if not await once(ctx.session, ctx.space.id, answers.nudge_key(rec.day, other.id), ctx.now):
            continue
        to = ctx.private_address(other)
        if to is None and not ctx.space.direct:
            to = Address(ctx.space.platform, ctx.space.chat_id)
        if to is None:
            continue
        nudges.append(
            Outgoing(
                to,
                f"🌙 {ctx.member.display_name} has answered the check-in for "
                f"{day_label(rec.day)}. {other.display_name}, whenever you're ready; "
                "there's no rush.",
                protect=True,
            )
        )
    return nudges


async def reveal(ctx: Ctx, rec: answers.Recorded, partners: list[Member]) -> list[Outgoing]:
    pairs = await answers.day_answers(ctx.session, ctx.space, rec.day)
    pairs = [(m, a) for m, a in pairs if any(p.id == m.id for p in partners)]
    text = answers.reveal_text(ctx.space, rec.day, pairs, rec.shown_up)
    return [Outgoing(to, text, protect=True) for to in shared_addresses(ctx.space, partners)]


async def note(ctx: Ctx, delivery: Delivery, text: str) -> list[Outgoing]:
    assert ctx.member is not None
    if not ctx.member.partner:
        raise UserError(
            "You're not one of this space's partners yet. Send /start here to join. "
            "Your note wasn't saved."
        )
    # A typed reply in the shared chat is already in front of everyone there: shared by
    # nature. A note written in private, or in a form only its author sees, is private.
    in_public = not ctx.private and ctx.incoming.action is None
    partners = await partners_of(ctx.session, ctx.space)
    earlier = await answers.answer_of(ctx.session, ctx.space, ctx.member, delivery.local_date)
    shared_before = earlier is not None and earlier.share_note
    rec = await answers.record(
        ctx.session,
        ctx.space,
        ctx.member,
        partners,
        delivery,
        ctx.now,
        note=text,
        share_note=in_public,
    )
    hint = "" if rec.answer.took_part else " Tap a number on the check-in to add your score too."
    # A note in crisis words stays with its author at the reveal, whatever was chosen
    # before, until they choose "Share at the reveal" again (a later, harmless addition
    # typed in the shared chat does not share it).
    words = ctx.library.safety.needs
    if words(text) or (not shared_before and rec.answer.note and words(rec.answer.note)):
        rec.answer.share_note = False
        ctx.session.add(rec.answer)
    # Typed in the shared chat, it was there for the partner to see: say so, gently, rather
    # than promise a privacy it no longer has.
    after = (
        "You wrote this in the shared chat, so it may have been seen there already. I won't "
        "quote it again at the reveal, and you can delete your message from the chat."
        if in_public
        else "This note stays private at the reveal, unless you choose to share it again."
        if shared_before
        else "This note stays private: only you see it, unless you choose to share it."
    )
    care = await care_replies(ctx, text, after)
    head = f"📝 Note saved with your check-in for {day_label(rec.day)}, {ctx.member.display_name}.{hint}"
    if in_public:
        return [ctx.whisper(head), *care]
    assert rec.answer.id is not None
    buttons = (
        Button("Keep private", actions.share_note(rec.answer.id, False)),
        *await _share_button(ctx, rec.answer, partners),
    )
    return [
        ctx.whisper(head + " It's private unless you choose to share it.", buttons=buttons),
        *care,
    ]


async def _share_button(
    ctx: Ctx, answer: CheckinAnswer, partners: list[Member]
) -> tuple[Button, ...]:
    """ "Share at the reveal" before the day is revealed; after it, "Share with <name>" (it is
    shown at once); none when /reveal never keeps every note private all the same."""
    assert answer.id is not None
    if answers.rule_of(ctx.space, answer) == "never":
        return ()
    if not await answers.done_day(ctx.session, ctx.space, answer.local_date):
        return (Button("Share at the reveal", actions.share_note(answer.id, True)),)
    others = [p.display_name for p in partners if p.id != answer.member_id]
    label = f"Share with {others[0]}" if others else "Share"
    return (Button(label, actions.share_note(answer.id, True)),)


async def share_note(ctx: Ctx, action: actions.ShareNote) -> list[Outgoing]:
    assert ctx.member is not None
    answer = await ctx.session.get(CheckinAnswer, action.answer_id)
    if answer is None or answer.member_id != ctx.member.id:
        raise UserError("Only the note's author can choose that. Nothing was changed.")
    answer.share_note = action.share
    ctx.session.add(answer)
    assert ctx.space.id is not None
    revealed = await answers.done_day(ctx.session, ctx.space, answer.local_date)
    if not action.share:
        return [ctx.whisper("🔒 Kept private: only you will see this note.")]
    never = answers.rule_of(ctx.space, answer) == "never"
    if revealed and not never and answer.note:
        partners = await partners_of(ctx.session, ctx.space)
        line = f"📝 {ctx.member.display_name} added a note to {day_label(answer.local_date)}: “{answers.quoted_note(answer.note)}”"
        return [ctx.whisper("Shared.")] + [
            Outgoing(to, line, protect=True) for to in shared_addresses(ctx.space, partners)
        ]
    if never:
        return [ctx.whisper("Noted; with /reveal never, notes stay private all the same.")]
    return [ctx.whisper("👍 Your note will be shown with the answers, once you've both answered.")]


async def tap_answer(ctx: Ctx, action: actions.Answer) -> list[Outgoing]:
    delivery = await answers.find_checkin(ctx.session, ctx.space, action.delivery_id)
    return await tap(ctx, delivery, action.score)


async def note_in_form(ctx: Ctx, action: actions.Note) -> list[Outgoing]:
    """A note written in a form only its author sees (Discord's modal)."""
    delivery = await answers.find_checkin(ctx.session, ctx.space, action.delivery_id)
    return await note(ctx, delivery, ctx.incoming.text)
