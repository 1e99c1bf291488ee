"""What is due and what to claim, decided over rows already read: pure, no database here."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from bot.content import Library
from bot.delivery.jobs import Job, Partner, Target
from bot.delivery.rotation import pick_shared, pick_side
from bot.messages import Address
from bot.schedule import local_date, next_due

# A claim asks the same question for most of its rows (the same local time, zone and now):
# the answers are pure, so each is worked out once.
_next_due = functools.lru_cache(maxsize=4096)(next_due)
_local_date = functools.lru_cache(maxsize=4096)(local_date)

EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"
# A promise's follow-up: when it is next asked, after this one, given (due date, asks so far,
# local time, zone). Set by the core (bot/promises), which owns that rule.
NextAsk = Callable[[date, int, str, str], datetime | None]
# A delivery's key: (schedule, local date, recipient, kind); one row each, ever.
Key = tuple[int, date, int, str]


def checkin_targets(space: Address, direct: bool, partners: Sequence[Partner]) -> list[Target]:
    """A check-in goes to each partner's private chat, and to the group only for a partner who
    has none there: a group where both answer in private gets nothing until the reveal (a
    line saying the check-in is out cost every couple a message a day, and said nothing new)."""
    linked = [p for p in partners if p.private_chat]
    targets = [
        Target(p.id, Address(space.platform, p.private_chat), "checkin")
        for p in linked
        if p.private_chat
    ]
    if not direct and not (len(linked) == len(partners) and len(partners) >= 2):
        targets.insert(0, Target(0, space, "checkin", "mixed" if linked else "full"))
    return targets


def prompt_targets(space: Address, direct: bool, partners: Sequence[Partner]) -> list[Target]:
    """The shared prompt goes to the group, or (with no group) to each partner's private chat."""
    if not direct:
        return [Target(0, space, "prompt")]
    return [
        Target(p.id, Address(space.platform, p.private_chat), "prompt")
        for p in partners
        if p.private_chat
    ]


def weekly_targets(space: Address, direct: bool, partners: Sequence[Partner]) -> list[Target]:
    """The look back goes where shared things go: the group, or each partner's private chat."""
    return [replace(t, kind="weekly") for t in prompt_targets(space, direct, partners) if partners]


def side_day(day: date, partner_id: int) -> bool:
    """A partner with a side gets a prompt for it in private every other day."""
    return (day.toordinal() + partner_id) % 2 == 0


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 10 min, with jitter so retries do not arrive in step.

    A retry goes on until the grace window has passed (then it is recorded missed), so an hour's
    outage delays the day's prompt rather than losing it."""
    base = min(30 * 2 ** max(attempts - 1, 0), 600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


@dataclass
class SchedulePlan:
    """What a claim of due schedules writes, in one transaction, before anything is sent."""

    inserts: list[dict[str, Any]] = field(default_factory=list)  # delivery rows: missed, claimed
    advances: list[dict[str, Any]] = field(default_factory=list)  # each schedule's next due time
    history: list[dict[str, Any]] = field(default_factory=list)  # the prompts picked, as shown
    rotations: list[dict[str, Any]] = field(default_factory=list)  # where picked spaces stand
    side_cycles: list[dict[str, Any]] = field(default_factory=list)  # sided partners' new rounds
    addresses: dict[tuple[int, int, str], Address] = field(default_factory=dict)
    missed: int = 0


def plan_schedules(
    rows: Sequence[Any],
    now: datetime,
    grace: timedelta,
    claim: dict[str, Any],
    library: Library,
    partners: dict[int, list[Partner]],
    sides: dict[int, dict[str, Any]],
    seen: dict[int, set[str]],
    already: set[Key],
) -> SchedulePlan:
    """The rows to write for a batch of due schedules (each with its space's columns): what came
    due while the bot was down is missed, the rest claimed for each target not written yet.

    `sides` (each sided partner's round) and `seen` (each space's prompts this round) are moved
    on by the prompts picked here."""
    plan = SchedulePlan()
    spaces: dict[int, dict[str, Any]] = {}
    for r in rows:
        spaces.setdefault(r.space_id, {"last_topic": r.last_topic, "cycle": r.content_cycle})
    cutoff = now - grace
    # A row is sent at its due time or at its newest occurrence, never after now; so every
    # schedule moves on to its first occurrence after now, one answer per (time, days, zone).
    upcoming: dict[tuple[str, str, str], datetime] = {}
    for r in rows:
        due: datetime = r.next_due_at
        send_at: datetime | None = due
        if due < cutoff:
            # Downtime: the newest occurrence may still be fresh; everything older is missed.
            newest = _next_due(r.local_time, r.weekdays, r.timezone, cutoff)
            if (r.id, _local_date(due, r.timezone), 0, r.kind) not in already:
                plan.inserts.append(schedule_row(r, due, "missed", None))
                plan.missed += 1
            send_at = newest if newest <= now else None
        when = (r.local_time, r.weekdays, r.timezone)
        if (following := upcoming.get(when)) is None:
            following = upcoming[when] = _next_due(*when, now)
        plan.advances.append({"sid": r.id, "next": following})
        if send_at is None:
            continue
        day = _local_date(send_at, r.timezone)
        members = partners.get(r.space_id, [])
        home = Address(r.platform, r.chat_id)
        planned: list[tuple[Target, str]] = []
        if r.kind == "prompt":
            targets = [
                t
                for t in prompt_targets(home, r.direct, members)
                if (r.id, day, t.recipient, t.kind) not in already
            ]
            if targets:
                content = pick_shared(library, r, spaces, seen, plan.history, now, send_at)
                planned += [(t, content) for t in targets]
            for member in members:
                state = sides.get(member.id)
                key = (r.id, day, member.id, "side")
                if state is None or not side_day(day, member.id) or key in already:
                    continue
                side = pick_side(library, member, state, r, plan.history, now, send_at)
                if side is not None and member.private_chat:
                    target = Target(member.id, Address(r.platform, member.private_chat), "side")
                    planned.append((target, side))
        elif r.kind == "weekly":
            planned += [
                (t, "weekly")
                for t in weekly_targets(home, r.direct, members)
                if (r.id, day, t.recipient, t.kind) not in already
            ]
        else:
            question = library.scored_question(r.question_id).id
            planned += [
                (t, question)
                for t in checkin_targets(home, r.direct, members)
                if (r.id, day, t.recipient, t.kind) not in already
            ]
        for target, content in planned:
            plan.inserts.append(schedule_row(r, send_at, "claimed", content, target, claim))
            plan.addresses[(r.id, target.recipient, target.kind)] = target.address
    # Only the spaces whose prompt this claim picked (their prompt schedule is locked by it), in
    # id order: another instance may be writing the others.
    plan.rotations = [
        {"spid": k, "lt": spaces[k]["last_topic"], "cy": spaces[k]["cycle"]}
        for k in sorted(k for k, v in spaces.items() if v.get("picked"))
    ]
    plan.side_cycles = [
        {"mid": mid, "cy": state["cycle"]}
        for mid, state in sides.items()
        if state["cycle"] != state["was"]
    ]
    return plan


def schedule_row(
    r: Any,
    due: datetime,
    status: str,
    content: str | None,
    target: Target | None = None,
    claim: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A delivery row of schedule `r`: missed, or (with its target and claim) claimed."""
    return {
        "space_id": r.space_id,
        "schedule_id": r.id,
        "kind": target.kind if target else r.kind,
        "recipient": target.recipient if target else 0,
        "variant": target.variant if target else None,
        "local_date": _local_date(due, r.timezone),
        "due_at": due,
        "status": status,
        "attempts": 0,
        "content_id": content,
        "reason": "came due while the bot was down" if status == "missed" else None,
        "claimed_by": claim["claimed_by"] if claim else None,
        "lease_until": claim["lease_until"] if claim else None,
    }


def ask_times(schedules: Iterable[tuple[int, str, str]]) -> dict[int, str]:
    """Each space's local time for a promise's follow-up, from its (space, kind, local time)
    schedules: its check-in's, else its prompt's."""
    times: dict[int, str] = {}
    for space_id, kind, local_time in schedules:
        if kind == "checkin" or space_id not in times:
            times[space_id] = local_time
    return times


@dataclass
class PromisePlan:
    """What a claim of due follow-ups writes: delivery rows, and each promise's next ask."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    advances: list[dict[str, Any]] = field(default_factory=list)
    addresses: dict[int, Address] = field(default_factory=dict)  # by promise id
    missed: int = 0


def plan_promises(
    rows: Sequence[Any],
    now: datetime,
    grace: timedelta,
    claim: dict[str, Any],
    times: dict[int, str],
    already: set[tuple[int, date]],
    next_ask: NextAsk,
) -> PromisePlan:
    """Promises whose follow-up is due: one ask a local day at most, to the promiser alone
    (their private chat; the shared chat only for a shared promise of someone unlinked).
    `already` holds the (promise, local date) pairs asked, and gains those planned here."""
    plan = PromisePlan()
    for r in rows:
        at = times.get(r.space_id, "20:00")
        due: datetime = r.next_ask_at
        send_at = due
        if now - due > grace:
            # Downtime: asked within the grace window, or else on the next day.
            newest = next_due(at, EVERY_DAY, r.timezone, now - grace)
            if (r.id, local_date(due, r.timezone)) not in already:
                plan.inserts.append(promise_row(r, due, "missed", 0))
                already.add((r.id, local_date(due, r.timezone)))
                plan.missed += 1
            if newest > now:
                plan.advances.append({"pid": r.id, "next": newest, "asks": r.asks})
                continue
            send_at = newest
        if (r.id, local_date(send_at, r.timezone)) in already:
            # Asked on that local day already: once a day at most.
            later = next_due(at, EVERY_DAY, r.timezone, send_at)
            plan.advances.append({"pid": r.id, "next": later, "asks": r.asks})
            continue
        if r.private_chat:
            to = Address(r.platform, r.private_chat)
        elif r.shared and not r.direct:
            to = Address(r.platform, r.chat_id)
        else:  # nowhere private to ask: it waits in /promises
            plan.advances.append({"pid": r.id, "next": None, "asks": r.asks})
            continue
        upcoming = next_ask(r.due_date, r.asks + 1, at, r.timezone)
        plan.advances.append({"pid": r.id, "next": upcoming, "asks": r.asks + 1})
        recipient = r.member_id if r.private_chat else 0
        plan.inserts.append(promise_row(r, send_at, "claimed", recipient))
        plan.inserts[-1].update(claim)
        plan.addresses[r.id] = to
    return plan


def promise_row(r: Any, due: datetime, status: str, recipient: int) -> dict[str, Any]:
    return {
        "space_id": r.space_id,
        "schedule_id": None,
        "promise_id": r.id,
        "kind": "promise",
        "recipient": recipient,
        "variant": None,
        "local_date": _local_date(due, r.timezone),
        "due_at": due,
        "status": status,
        "attempts": 0,
        "content_id": str(r.id),
        "reason": "came due while the bot was down" if status == "missed" else None,
        "claimed_by": None,
        "lease_until": None,
    }


def sort_retries(
    rows: Sequence[Any], now: datetime, grace: timedelta
) -> tuple[list[int], list[int], list[Any]]:
    """Due retries, sorted into (stale, unlinked, to send). A retry that would arrive later than
    the grace window is stale: given up; so is one for a private chat unlinked meanwhile."""
    stale = [r.id for r in rows if now - r.due_at > grace]
    unlinked = [r.id for r in rows if r.recipient and r.private_chat is None]
    return stale, unlinked, [r for r in rows if r.id not in stale and r.id not in unlinked]


def retry_job(r: Any) -> Job:
    """A claimed retry, sent where it was meant to go: a partner's private chat, or the space's."""
    return Job(
        r.id,
        r.space_id,
        r.kind,
        r.local_date,
        r.content_id,
        Address(r.platform, r.private_chat if r.recipient else r.chat_id),
        r.attempts,
        recipient=r.recipient,
        variant=r.variant,
        parts_sent=r.parts_sent,
        due_at=r.due_at,
    )
