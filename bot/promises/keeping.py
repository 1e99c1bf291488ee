"""Promises: making one, listing your own, answering the follow-up, and what is celebrated.

Nobody is ever told that their partner's promise failed: every answer but a shared "Done" is
said to the promiser alone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import actions
from bot.checkins.answers import quoted_note
from bot.context import Ctx, partners_of, schedules_of, shared_addresses
from bot.errors import UserError
from bot.messages import Address, Button, Outgoing
from bot.render import day_label, local_when
from bot.safety.replies import care_replies
from bot.schedule import first_due, next_due
from bot.store import (
    Member,
    Promise,
    PromiseStatus,
    Schedule,
    Space,
    promise_text,
    set_promise_text,
)
from bot.timeparse import split_due, zone_from_name

MAX_PROMISE = 200
DEFAULT_DAYS = 7
MAX_OPEN = 10  # open promises per person: small ones, a few at a time
MAX_ASKS = 2  # the follow-up, and once more a week later if it went unanswered
DEFAULT_ASK = "20:00"
EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"
EXAMPLE = "/promise plan Saturday's walk by fri"
ANSWER_LABELS = (
    ("done", "Done"),
    ("partly", "Partly"),
    ("not_yet", "Not yet"),
    ("let_go", "Let it go"),
)


def ask_time(schedules: dict[str, Schedule]) -> str:
    """The local time a follow-up comes: the check-in's, else the prompt's, else 20:00."""
    for kind in ("checkin", "prompt"):
        if kind in schedules:
            return schedules[kind].local_time
    return DEFAULT_ASK


def ask_instant(day: date, local_time: str, zone: str) -> datetime:
    """When `local_time` happens on the local `day`: the first pass on a fall-back night, just
    after the gap on a spring-forward night (the schedules' own rule)."""
    midnight = datetime.combine(day, time(0, 0), zone_from_name(zone))
    found = first_due(local_time, EVERY_DAY, zone, midnight, None)
    assert found is not None  # never paused
    return found


def first_ask(day: date, local_time: str, zone: str, now: datetime) -> datetime:
    """The follow-up on the due day; if that moment has passed already, the next day's."""
    at = ask_instant(day, local_time, zone)
    return at if at > now else next_due(local_time, EVERY_DAY, zone, now)


def answer_buttons(promise_id: int) -> tuple[Button, ...]:
    return tuple(Button(label, actions.kept(promise_id, name)) for name, label in ANSWER_LABELS)


def quoted(promise: Promise) -> str:
    return f"“{quoted_note(promise_text(promise))}”"


async def open_promises(session: AsyncSession, space: Space, member: Member) -> list[Promise]:
    found = await session.exec(
        select(Promise)
        .where(
            Promise.space_id == space.id,
            Promise.member_id == member.id,
            Promise.status == PromiseStatus.OPEN,
        )
        .order_by(col(Promise.due_date), col(Promise.id))
    )
    return list(found.all())


def _words(args: str, today: date) -> tuple[str, date]:
    what, due = split_due(args, today)
    what = " ".join(what.split())
    if not what:
        raise UserError(
            "Tell me what you'll do, and by when if you like: /promise text you when I'm "
            f"running late, or {EXAMPLE}."
        )
    if len(what) > MAX_PROMISE:
        raise UserError(
            f"A promise here is small: up to {MAX_PROMISE} characters, and yours has {len(what)}. "
            f"Try a shorter one, like {EXAMPLE}."
        )
    return what, due or today + timedelta(days=DEFAULT_DAYS)


async def cmd_promise(ctx: Ctx, args: str) -> list[Outgoing]:
    """/promise <what> [by <day>]: shared when made in the shared space; asked when in private."""
    assert ctx.member is not None and ctx.member.id is not None and ctx.space.id is not None
    what, due = _words(args, ctx.today)
    if len(await open_promises(ctx.session, ctx.space, ctx.member)) >= MAX_OPEN:
        raise UserError(
            f"You have {MAX_OPEN} open promises already. Settle one first (/promises lists them "
            "with their buttons), then make this one."
        )
    when = ask_time(await schedules_of(ctx.session, ctx.space))
    promise = Promise(
        space_id=ctx.space.id,
        member_id=ctx.member.id,
        body="",
        shared=not ctx.private,
        made_at=ctx.now,
        due_date=due,
        next_ask_at=first_ask(due, when, ctx.space.timezone, ctx.now),
    )
    set_promise_text(promise, what)
    ctx.session.add(promise)
    await ctx.session.flush()
    assert promise.id is not None
    where = "privately" if ctx.member.private_chat else "here"
    said = f"{quoted(promise)}, by {day_label(due)}"
    # The real moment: "by today" made after the day's ask has passed is asked tomorrow.
    assert promise.next_ask_at is not None
    asks = local_when(promise.next_ask_at, ctx.space.timezone, ctx.now)
    held = "This promise stays just for you." if ctx.private else ""
    care = await care_replies(ctx, what, held)
    if not ctx.private:
        return [
            ctx.reply(
                f"🤝 Promise noted, {ctx.member.display_name}: {said}. I'll ask you {where} "
                f"how it went, {asks}.",
                protect=True,
            ),
            *care,
        ]
    if care:
        # Words of danger: help first, and no button that would show them to the partner
        # (as a note or an answer with them is kept from the reveal).
        noted = f"🤝 Noted, just for you: {said}. I'll ask you here how it went, {asks}."
        return [*care, ctx.reply(noted, protect=True)]
    buttons = (
        Button("Shared", actions.share_promise(promise.id, True)),
        Button("Just for me", actions.share_promise(promise.id, False)),
    )
    return [
        ctx.reply(
            f"🤝 Noted: {said}. I'll ask you here how it went, {asks}. Is it shared with your "
            "partner, or just for you? It stays just for you unless you choose Shared.",
            buttons=buttons,
            protect=True,
        ),
        *care,
    ]


async def cmd_promises(ctx: Ctx, args: str) -> list[Outgoing]:
    """Your open promises, each with its buttons; in a chat others read, only the shared ones."""
    assert ctx.member is not None
    mine = await open_promises(ctx.session, ctx.space, ctx.member)
    say = ctx.whisper if ctx.can_whisper else ctx.reply
    footer = ""
    if not ctx.can_whisper:
        mine = [p for p in mine if p.shared]
        footer = " (Promises just for you are listed only in your private chat with me.)"
    if not mine:
        return [say(f"No open promises here. Make a small one: {EXAMPLE}.{footer}")]
    head = say(
        f"🤝 Your open promises, {ctx.member.display_name}: tap how each one went, whenever "
        f"you like.{footer}"
    )
    items = [
        say(
            f"{quoted(p)} · by {day_label(p.due_date)} · "
            f"{'shared' if p.shared else 'just for you'}",
            buttons=answer_buttons(p.id or 0),
            protect=not p.shared,
        )
        for p in mine
    ]
    return [head, *items]


async def _own_promise(ctx: Ctx, promise_id: int) -> Promise:
    promise = await ctx.session.get(Promise, promise_id)
    if promise is None or promise.space_id != ctx.space.id:
        raise UserError("That promise isn't here any more. /promises lists your open ones.")
    if ctx.member is None or promise.member_id != ctx.member.id:
        raise UserError("Only the one who made this promise can answer it. Nothing was changed.")
    return promise


async def share(ctx: Ctx, action: actions.SharePromise) -> list[Outgoing]:
    """ "Shared" or "Just for me", on a promise made in private."""
    promise = await _own_promise(ctx, action.promise_id)
    assert ctx.member is not None
    if promise.status != PromiseStatus.OPEN:
        raise UserError("That promise is already settled, so it stays as it was.")
    if not action.share:
        if promise.shared:
            raise UserError(
                "Your partner has already seen this one, so it stays shared. /promises lists it."
            )
        return [ctx.whisper("🔒 Just for you: only you will see it, and only you are asked.")]
    if promise.shared:
        return [ctx.whisper("It's shared already. ✓")]
    if ctx.library.safety.needs(promise_text(promise)):
        raise UserError(
            "This promise stays just for you: it holds words I answered with help, and those "
            "are never shown to anyone else. /support is here whenever you need it."
        )
    promise.shared = True
    ctx.session.add(promise)
    partners = await partners_of(ctx.session, ctx.space)
    line = (
        f"🤝 {ctx.member.display_name} made a promise: {quoted(promise)}, by "
        f"{day_label(promise.due_date)}."
    )
    others = [
        Outgoing(to, line, protect=True)
        for to in shared_addresses(ctx.space, partners)
        if to != ctx.incoming.to
    ]
    return [ctx.whisper("🤝 Shared: your partner can see it now."), *others]


async def answer(ctx: Ctx, action: actions.Kept) -> list[Outgoing]:
    """Done, Partly, Not yet or Let it go. Only a shared Done is said to anyone else."""
    promise = await _own_promise(ctx, action.promise_id)
    assert ctx.member is not None
    if promise.status != PromiseStatus.OPEN:
        raise UserError(
            f"That promise is already settled ({(promise.outcome or 'closed').replace('_', ' ')}), so it "
            "stays as it was. /promises lists your open ones."
        )
    if action.answer == "not_yet":
        promise.due_date = max(promise.due_date, ctx.today) + timedelta(days=DEFAULT_DAYS)
        when = ask_time(await schedules_of(ctx.session, ctx.space))
        promise.next_ask_at = first_ask(promise.due_date, when, ctx.space.timezone, ctx.now)
        promise.asks = 0
        ctx.session.add(promise)
        return [
            ctx.whisper(
                f"⏳ No rush. It's moved to {day_label(promise.due_date)}, and I'll ask again then."
            )
        ]
    promise.status = PromiseStatus.CLOSED
    promise.outcome = {
        "done": PromiseStatus.DONE,
        "partly": PromiseStatus.PARTLY,
        "let_go": PromiseStatus.LET_GO,
    }[action.answer]
    promise.closed_at = ctx.now
    promise.next_ask_at = None
    ctx.session.add(promise)
    if action.answer == "partly":
        return [
            ctx.whisper(
                "🌗 Partly is still a step, and I count it as one (not as kept). Carry it on to a "
                "new day, or let it go?",
                buttons=carry_buttons(promise.id or 0),
                protect=not promise.shared,
            )
        ]
    if action.answer == "let_go":
        return [ctx.whisper("🍃 Let go. I won't ask about it again.")]
    if not promise.shared:
        return [ctx.whisper("🎉 Kept. Only you know about this one, and it counts all the same.")]
    partners = await partners_of(ctx.session, ctx.space)
    celebration = (
        f"🎉 {ctx.member.display_name} kept a promise: {quoted(promise)}. Small promises, kept, "
        "are how trust grows back."
    )
    return [
        ctx.whisper(f"🎉 Kept. Well done, {ctx.member.display_name}."),
        *[Outgoing(to, celebration, protect=True) for to in shared_addresses(ctx.space, partners)],
    ]


CARRY_LABELS = {1: "Tomorrow", 3: "In 3 days", 7: "Next week", 0: "Let it go"}


def carry_buttons(promise_id: int) -> tuple[Button, ...]:
    return tuple(Button(label, actions.carry(promise_id, d)) for d, label in CARRY_LABELS.items())


async def carry(ctx: Ctx, action: actions.Carry) -> list[Outgoing]:
    """After "Partly": the same words as a fresh promise on a new day, or let go. The partly
    kept one stays as it was, counted apart in the look back."""
    promise = await _own_promise(ctx, action.promise_id)
    assert ctx.member is not None and ctx.member.id is not None and ctx.space.id is not None
    if promise.outcome != PromiseStatus.PARTLY:
        raise UserError(
            "That promise isn't waiting for this choice. /promises lists your open ones."
        )
    if promise.carried_to is not None:
        carried = await ctx.session.get(Promise, promise.carried_to)
        when = f" to {day_label(carried.due_date)}" if carried is not None else ""
        raise UserError(f"It's carried on{when} already. /promises lists your open ones.")
    if action.days == 0:
        return [
            ctx.whisper("🍃 Let go. What you did counts all the same; I won't ask about it again.")
        ]
    if len(await open_promises(ctx.session, ctx.space, ctx.member)) >= MAX_OPEN:
        raise UserError(
            f"You have {MAX_OPEN} open promises already. Settle one first (/promises lists them "
            "with their buttons), then carry this one on."
        )
    due = ctx.today + timedelta(days=action.days)
    when = ask_time(await schedules_of(ctx.session, ctx.space))
    fresh = Promise(
        space_id=ctx.space.id,
        member_id=ctx.member.id,
        body="",
        shared=promise.shared,
        made_at=ctx.now,
        due_date=due,
        next_ask_at=first_ask(due, when, ctx.space.timezone, ctx.now),
    )
    set_promise_text(fresh, promise_text(promise))
    ctx.session.add(fresh)
    await ctx.session.flush()
    promise.carried_to = fresh.id
    ctx.session.add(promise)
    assert fresh.next_ask_at is not None
    asks = local_when(fresh.next_ask_at, ctx.space.timezone, ctx.now)
    return [
        ctx.whisper(
            f"⏳ Carried on: {quoted(fresh)}, by {day_label(due)}. I'll ask you how it went, {asks}.",
            protect=True,
        )
    ]


def follow_up(to: Address, promise: Promise, name: str, private: bool) -> Outgoing:
    """The question on the due day, to the promiser alone where possible."""
    said = f"You said you'd: {quoted(promise)}, by {day_label(promise.due_date)}."
    if private:
        return Outgoing(
            to,
            f"🤝 {said} Did it happen?",
            buttons=answer_buttons(promise.id or 0),
            protect=True,
        )
    return Outgoing(
        to,
        f"🤝 {name}, a word about your promise. {said} Did it happen? Only you can answer, "
        "and only a kept promise is shared.",
        buttons=answer_buttons(promise.id or 0),
        protect=True,
    )


def next_after_ask(promise_due: date, asks: int, local_time: str, zone: str) -> datetime | None:
    """After a follow-up is claimed: once more a week later, if it is still open by then."""
    if asks >= MAX_ASKS:
        return None
    return ask_instant(promise_due + timedelta(days=DEFAULT_DAYS * asks), local_time, zone)


async def export_rows(
    session: AsyncSession, space: Space, member: Member | None
) -> list[dict[str, Any]]:
    """A partner's own promises, and the other's shared ones; never the other's private ones."""
    found = await session.exec(
        select(Promise, Member)
        .join(Member, col(Member.id) == Promise.member_id)
        .where(Promise.space_id == space.id)
        .order_by(col(Promise.id))
    )
    rows: list[dict[str, Any]] = []
    for promise, author in found.all():
        mine = member is not None and author.id == member.id
        if not (mine or (promise.shared and author.partner)):  # never one who has left
            continue
        row = promise.model_dump(
            exclude={"space_id", "body", "next_ask_at", "asks", "outcome", "carried_to"}
        )
        row["status"] = promise.outcome or promise.status  # how it went, or "open"
        row["text"] = promise_text(promise)
        row["by"] = author.display_name
        rows.append(row)
    return rows
