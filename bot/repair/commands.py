"""/repair, a guided talk after a hard moment, and its buttons: each partner writes privately
what they felt, what they needed and their own part; both are shown together; then each
chooses one thing to do differently. Always optional, pausable, and without blame."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import select

from bot import actions
from bot.command import Command, Who
from bot.context import Ctx, Place, partners_of, shared_addresses
from bot.errors import UserError
from bot.messages import Address, Button, Outgoing
from bot.promises.keeping import cmd_promise
from bot.questions.commands import REPLY_HINTS, WORDS_HINT
from bot.questions.words import answer_of, clean
from bot.render import local_when, one_line
from bot.repair.state import (
    STEPS,
    WRITTEN,
    PartState,
    RepairPart,
    RepairTalk,
    TalkStatus,
    current_talk,
    declined_lately,
    expired,
    parts_of,
    question,
    shown,
    talk_words,
)
from bot.safety.replies import crisis_replies
from bot.store import Member, lock_space, once

CHOSEN = WRITTEN + 1  # a part's step once its one thing to do differently is chosen
WRITE = "✍️ Write"
WRITE_OWN = "✍️ Write my own"
PAUSE = "⏸ Pause"
CARRY_ON = "▶️ Carry on"
MAKE_PROMISE = "🤝 Make mine a promise"
ENDED = "That talk has ended. /repair starts a new one whenever you're ready."
NEEDS_TWO = (
    "A talk after a hard moment is for the two of you. Once your partner has joined (/pair "
    "brings them in), send /repair again."
)
PRIVATELY = (
    "The words of this talk are written where only you see them: open your private chat with "
    "me (/pair links it), then tap again."
)


# ---- Where a partner's own part of the talk goes ------------------------------------------


def _mine(
    ctx: Ctx, text: str, buttons: tuple[Button, ...] = (), asks: bool = False
) -> list[Outgoing]:
    """To the partner alone, in their private chat: a step of the talk needs one (Telegram's
    reply box in a group would be public), so without one they are told how to link it."""
    if ctx.private:
        return [ctx.reply(text, buttons=buttons, asks=asks, protect=True)]
    to = ctx.private_address()
    if to is not None:
        note = ctx.whisper("🔒 I've written to you in our private chat.")
        return [Outgoing(to, text, buttons=buttons, asks=asks, protect=True), note]
    raise UserError(PRIVATELY)


def _to_member(ctx: Ctx, member: Member, text: str) -> list[Outgoing]:
    """A neutral word for the other partner: their private chat, else the couple's group."""
    to = ctx.private_address(member)
    if to is None and not ctx.space.direct:
        to = Address(ctx.space.platform, ctx.space.chat_id)
    return [Outgoing(to, text)] if to is not None else []


def _step(talk: RepairTalk, part: RepairPart) -> tuple[str, tuple[Button, ...]]:
    """The question a partner is on, with its buttons."""
    assert talk.id is not None
    asked = question(part.step)
    rest = (
        Button(PAUSE, actions.repair(talk.id, "pause")),
        Button(talk_words().not_now, actions.repair(talk.id, "not_now")),
    )
    if part.step < WRITTEN:
        write = Button(WRITE, actions.repair(talk.id, "write"))
        return f"🤝 {part.step + 1} of {WRITTEN}. {asked.ask}", (write, *rest)
    return f"🌱 {asked.ask}", (*_choices(talk), *rest)


def _choices(talk: RepairTalk) -> tuple[Button, ...]:
    assert talk.id is not None
    picks = [
        Button(text, actions.repair(talk.id, "pick", index))
        for index, text in enumerate(talk_words().suggestions)
    ]
    return (Button(WRITE_OWN, actions.repair(talk.id, "write")), *picks)


def _where_now(ctx: Ctx, talk: RepairTalk, part: RepairPart, head: str = "") -> list[Outgoing]:
    """What a partner sees on coming back to the talk: their question, or what they wait for."""
    lead = f"{head}\n\n" if head else ""
    if part.step < WRITTEN or (part.step == WRITTEN and talk.status == TalkStatus.REVEALED):
        text, buttons = _step(talk, part)
        return _mine(ctx, lead + text, buttons)
    if part.step == WRITTEN:
        return _mine(ctx, lead + talk_words().waiting)
    return _mine(ctx, lead + "You've chosen. Both choices are shown once you've both chosen.")


# ---- /repair ----------------------------------------------------------------------------


async def cmd_repair(ctx: Ctx, args: str) -> list[Outgoing]:
    assert ctx.member is not None
    await lock_space(ctx.session, ctx.space)
    partners = await partners_of(ctx.session, ctx.space)
    if len(partners) < 2:
        raise UserError(NEEDS_TWO)
    talk = await current_talk(ctx.session, ctx.space, ctx.now)
    if talk is None:
        # "Not now" is heard: the other partner is not asked again at once (an invitation
        # pressed again and again is pressure, not repair).
        again = await declined_lately(ctx.session, ctx.space, ctx.member.id, ctx.now)
        if again is not None:
            raise UserError(
                "Your partner said not now to a talk a little while ago, and that deserves room. "
                f"/repair can invite them again {local_when(again, ctx.space.timezone, ctx.now)}. "
                "Nothing was sent."
            )
        return await _begin(ctx, partners)
    part = await _part(ctx, talk)
    talk.updated_at = ctx.now
    ctx.session.add(talk)
    if part.state == PartState.INVITED:
        waiting = "🤝 A talk after a hard moment is open for you both, whenever you're ready."
        return _invitation(ctx, talk, ctx.member, waiting)
    head = ""
    if part.state == PartState.PAUSED:
        part.state, part.updated_at = PartState.WRITING, ctx.now
        ctx.session.add(part)
        head = talk_words().resume
    return _where_now(ctx, talk, part, head)


async def _begin(ctx: Ctx, partners: list[Member]) -> list[Outgoing]:
    assert ctx.member is not None and ctx.space.id is not None
    talk = RepairTalk(space_id=ctx.space.id, started_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(talk)
    await ctx.session.flush()
    assert talk.id is not None
    for partner in partners:
        assert partner.id is not None
        ctx.session.add(
            RepairPart(
                talk_id=talk.id,
                space_id=ctx.space.id,
                member_id=partner.id,
                reveal=ctx.space.reveal,
                updated_at=ctx.now,
            )
        )
    out: list[Outgoing] = []
    in_group = [p for p in partners if p.private_chat is None]
    name = one_line(ctx.member.display_name)
    for partner in partners:
        if partner.private_chat is None:
            continue
        if partner.id == ctx.member.id:
            head = "🤝 You've suggested a talk after a hard moment; your partner is invited too."
        else:
            head = f"🤝 {name} invites you to a talk after a hard moment."
        out += _invitation(ctx, talk, partner, head)
    if in_group and not ctx.space.direct:
        text = f"🤝 {name} invites you both to a talk after a hard moment.\n\n{talk_words().intro}"
        group = Address(ctx.space.platform, ctx.space.chat_id)
        out.append(Outgoing(group, text, buttons=_invite_buttons(talk)))
    if ctx.incoming.to not in {o.to for o in out}:
        out.insert(0, ctx.whisper("🤝 I've invited you both to a talk after a hard moment."))
    return out


def _invite_buttons(talk: RepairTalk) -> tuple[Button, ...]:
    assert talk.id is not None
    words = talk_words()
    return (
        Button(words.start, actions.repair(talk.id, "start")),
        Button(words.not_now, actions.repair(talk.id, "not_now")),
    )


def _invitation(ctx: Ctx, talk: RepairTalk, to: Member, head: str) -> list[Outgoing]:
    """The invitation, the same for both but for its first line: it asks nothing of anyone."""
    text = f"{head}\n\n{talk_words().intro}"
    address = ctx.private_address(to)
    if address is None:  # it holds nothing private: shown where /repair was asked
        return [ctx.reply(text, buttons=_invite_buttons(talk))]
    return [Outgoing(address, text, buttons=_invite_buttons(talk), protect=True)]


async def _part(ctx: Ctx, talk: RepairTalk, member: Member | None = None) -> RepairPart:
    who = member or ctx.member
    assert who is not None
    found = await ctx.session.exec(
        select(RepairPart).where(RepairPart.talk_id == talk.id, RepairPart.member_id == who.id)
    )
    part = found.first()
    if part is None:
        raise UserError(ENDED)
    return part


# ---- The buttons ------------------------------------------------------------------------


async def tapped(ctx: Ctx, action: actions.Repair) -> list[Outgoing]:
    await lock_space(ctx.session, ctx.space)
    talk = await ctx.session.get(RepairTalk, action.talk_id)
    if talk is None or talk.space_id != ctx.space.id:
        raise UserError(ENDED)
    if action.choice == "promise":
        return await _promise(ctx, talk)
    if talk.status not in (TalkStatus.OPEN, TalkStatus.REVEALED) or expired(talk, ctx.now):
        await current_talk(ctx.session, ctx.space, ctx.now)  # erases it, if it expired
        raise UserError(ENDED)
    part = await _part(ctx, talk)
    talk.updated_at = ctx.now
    ctx.session.add(talk)
    if action.choice == "not_now":
        return await _decline(ctx, talk)
    if action.choice == "pause":
        return await _pause(ctx, talk, part)
    if action.choice == "start":
        head = talk_words().resume if part.state == PartState.PAUSED else ""
        part.state, part.updated_at = PartState.WRITING, ctx.now
        ctx.session.add(part)
        return _where_now(ctx, talk, part, head)
    if action.choice == "pick":
        suggestions = talk_words().suggestions
        if not 0 <= action.pick < len(suggestions):
            raise UserError("That choice isn't one I know any more. /repair shows where you are.")
        return await save(ctx, talk, part, suggestions[action.pick], picked=True)
    # "Write": words from a form only its author sees (Discord's modal), or asked for now.
    if ctx.incoming.text:
        if not (ctx.private or ctx.incoming.whisper):
            raise UserError(PRIVATELY)
        return await save(ctx, talk, part, ctx.incoming.text)
    _can_write(talk, part)
    part.asked_at, part.state = ctx.now, PartState.WRITING
    ctx.session.add(part)
    hint = REPLY_HINTS.get(ctx.space.platform, WORDS_HINT)
    until = "you've both chosen" if part.step == WRITTEN else "you've both written all three"
    text = f"✍️ {question(part.step).ask}\n{hint} Only you see it until {until}."
    return _mine(ctx, text, asks=True)


def _can_write(talk: RepairTalk, part: RepairPart) -> None:
    if part.step >= CHOSEN:
        raise UserError("You've already chosen. Both choices are shown once you've both chosen.")
    if part.step == WRITTEN and talk.status != TalkStatus.REVEALED:
        raise UserError(talk_words().waiting)


async def _pause(ctx: Ctx, talk: RepairTalk, part: RepairPart) -> list[Outgoing]:
    assert talk.id is not None and ctx.member is not None
    part.state, part.asked_at, part.updated_at = PartState.PAUSED, None, ctx.now
    ctx.session.add(part)
    carry_on = (Button(CARRY_ON, actions.repair(talk.id, "start")),)
    name = one_line(ctx.member.display_name)
    notice = (
        f"⏸ {name} has paused the talk after a hard moment for now. Nothing either of you "
        "wrote is shared, and it's there to pick up with /repair whenever you're both ready."
    )
    out = _mine(ctx, "⏸ " + talk_words().pause, carry_on)
    for member, _ in await parts_of(ctx.session, talk):
        if member.id != ctx.member.id:
            out += _to_member(ctx, member, notice)
    return out


async def _decline(ctx: Ctx, talk: RepairTalk) -> list[Outgoing]:
    """ "Not now": the talk ends, and nothing anyone wrote in it is kept or shared."""
    assert ctx.member is not None
    talk.status = TalkStatus.DECLINED
    parts = await parts_of(ctx.session, talk)
    for member, part in parts:
        for step in STEPS:
            setattr(part, step, None)
        part.asked_at, part.updated_at = None, ctx.now
        if member.id == ctx.member.id:
            part.state = PartState.DECLINED
        ctx.session.add(part)
    name = one_line(ctx.member.display_name)
    notice = (
        f"{name} would rather not have this talk right now, and that's okay. Nothing either of "
        "you wrote is shared. /repair is there whenever you're both ready."
    )
    out = [
        ctx.whisper(
            "Okay. This talk is closed, and nothing either of you wrote is shared or kept. "
            "/repair is there whenever you want it."
        )
    ]
    for member, _ in parts:
        if member.id != ctx.member.id:
            out += _to_member(ctx, member, notice)
    return out


# ---- Words: saved privately, shown together ---------------------------------------------


async def save(
    ctx: Ctx, talk: RepairTalk, part: RepairPart, text: str, picked: bool = False
) -> list[Outgoing]:
    _can_write(talk, part)
    if part.state == PartState.INVITED and picked:
        raise UserError("Tap “Let's start” first, or send /repair.")
    cleaned = clean(text)
    # Crisis words are looked at first: then nothing of this part is ever shown to the other.
    if ctx.library.safety.needs(cleaned):
        part.held = True
    setattr(part, STEPS[part.step], cleaned)
    part.step += 1
    part.state, part.asked_at, part.updated_at = PartState.WRITING, None, ctx.now
    ctx.session.add(part)
    await ctx.session.flush()
    care = crisis_replies(ctx, cleaned, "What you write in this talk stays with you.")
    head = f"✍️ Saved: “{one_line(cleaned)}”"
    if part.step < WRITTEN:
        return [*care, *_where_now(ctx, talk, part, head)]
    parts = await parts_of(ctx.session, talk)
    assert ctx.space.id is not None
    if part.step == WRITTEN:
        both = all(p.step >= WRITTEN for _, p in parts) and len(parts) >= 2
        if not both or not await once(ctx.session, ctx.space.id, f"repair:{talk.id}:r", ctx.now):
            return [*care, *_mine(ctx, f"{head}\n\n{talk_words().waiting}")]
        talk.status = TalkStatus.REVEALED
        ctx.session.add(talk)
        return [*care, *_together(ctx, head, _reveal(ctx, talk, parts), parts)]
    both = all(p.step >= CHOSEN for _, p in parts) and len(parts) >= 2
    if not both or not await once(ctx.session, ctx.space.id, f"repair:{talk.id}:c", ctx.now):
        waiting = "Both choices are shown once you've both chosen."
        if picked and not ctx.private:
            return [*care, ctx.whisper(f"{head} {waiting}")]
        return [*care, *_mine(ctx, f"{head}\n\n{waiting}")]
    talk.status = TalkStatus.DONE
    ctx.session.add(talk)
    return [*care, *_together(ctx, head, _closing(ctx, talk, parts), parts)]


def _together(
    ctx: Ctx,
    head: str,
    message: tuple[str, tuple[Button, ...]],
    parts: list[tuple[Member, RepairPart]],
) -> list[Outgoing]:
    """One message for both, where their shared things go, and a private word to the writer
    if that is not where they are."""
    text, buttons = message
    partners_to = shared_addresses(ctx.space, [m for m, _ in parts])
    out = [Outgoing(to, text, buttons=buttons, protect=True) for to in partners_to]
    if ctx.incoming.to in partners_to:
        return out
    return [ctx.whisper(head, protect=True), *out]


def _name(member: Member) -> str:
    return one_line(member.display_name)


def _reveal(
    ctx: Ctx, talk: RepairTalk, parts: list[tuple[Member, RepairPart]]
) -> tuple[str, tuple[Button, ...]]:
    """Both parts side by side (each as its author allowed), and the last question."""
    words = talk_words()
    if ctx.space.reveal == "never":
        lines = [
            "🤝 You've both written your three answers. They stay with each of you (/reveal never)."
        ]
    else:
        lines = [f"🤝 {words.reveal}"]
        for member, part in parts:
            lines.append("")
            if part.held:
                lines.append(f"{_name(member)} kept their answers private this time.")
            elif not shown(ctx.space, part):
                lines.append(f"{_name(member)}'s answers stay with them (/reveal never).")
            else:
                lines.append(f"{_name(member)}:")
                for step, asked in zip(STEPS, words.questions(), strict=False):
                    lines.append(f"{asked.label}: “{one_line(getattr(part, step) or '')}”")
    lines += ["", f"🌱 When you're ready: {words.differently.ask}"]
    assert talk.id is not None
    pause = Button(PAUSE, actions.repair(talk.id, "pause"))
    return "\n".join(lines), (*_choices(talk), pause)


def _closing(
    ctx: Ctx, talk: RepairTalk, parts: list[tuple[Member, RepairPart]]
) -> tuple[str, tuple[Button, ...]]:
    words = talk_words()
    if ctx.space.reveal == "never":
        lines = [
            "🌱 You've both chosen one thing to do differently. Each of you keeps your own "
            "(/reveal never)."
        ]
    else:
        lines = ["🌱 One thing each of you will do differently:"]
        for member, part in parts:
            if shown(ctx.space, part):
                lines.append(f"{_name(member)}: “{one_line(part.differently or '')}”")
            else:
                lines.append(f"{_name(member)} keeps theirs private this time.")
    lines += ["", words.closing]
    assert talk.id is not None
    return "\n".join(lines), (Button(MAKE_PROMISE, actions.repair(talk.id, "promise")),)


async def _promise(ctx: Ctx, talk: RepairTalk) -> list[Outgoing]:
    """The chooser's one thing made a /promise: shared where it was shown, else theirs alone."""
    assert ctx.member is not None and ctx.space.id is not None
    part = await _part(ctx, talk)
    if talk.status != TalkStatus.DONE or part.differently is None:
        raise UserError(
            "That can become a promise once you've both chosen. /repair shows where you are."
        )
    if not await once(ctx.session, ctx.space.id, f"repair:{talk.id}:p:{ctx.member.id}", ctx.now):
        return [ctx.whisper("That's a promise already: /promises lists it.")]
    if ctx.private or shown(ctx.space, part):
        return await cmd_promise(ctx, part.differently)
    to = ctx.private_address()
    if to is None:
        raise UserError(PRIVATELY)
    alone = replace(ctx, place=Place.PRIVATE, incoming=replace(ctx.incoming, to=to))
    return await cmd_promise(alone, part.differently)


async def words_in_reply(ctx: Ctx) -> list[Outgoing] | None:
    """A reply in a partner's private chat after they tapped "Write": their words for the step
    they are on. None when the talk asked for none, or today's question asked since."""
    if ctx.member is None or not ctx.private or not ctx.member.partner:
        return None
    await lock_space(ctx.session, ctx.space)
    talk = await current_talk(ctx.session, ctx.space, ctx.now)
    if talk is None:
        return None
    found = await ctx.session.exec(
        select(RepairPart).where(
            RepairPart.talk_id == talk.id, RepairPart.member_id == ctx.member.id
        )
    )
    part = found.first()
    if part is None or part.asked_at is None:
        return None
    answer = await answer_of(ctx.session, ctx.space, ctx.member, ctx.today)
    if answer is not None and answer.asked_at is not None and answer.asked_at > part.asked_at:
        return None
    talk.updated_at = ctx.now
    ctx.session.add(talk)
    return await save(ctx, talk, part, ctx.incoming.text)


COMMANDS = (
    Command(
        "repair",
        "A guided talk after a hard moment: optional, private, at your pace",
        cmd_repair,
        "The two of you",
        "/repair",
        Who.PARTNER,
    ),
)
