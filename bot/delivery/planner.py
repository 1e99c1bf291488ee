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


@dataclass(frozen=True)
class Sibling:
    """One of a space's daily schedules (its prompt's or its check-in's) as a claim sees it:
    None for when it is next due means it is off; `held` means another instance is claiming
    it this moment, so this claim leaves it alone."""

    id: int
    next_due_at: datetime | None
    held: bool = False
    # Its time and days; None for one due in the claim itself (it moves on by itself).
    local_time: str | None = None
    weekdays: str = EVERY_DAY


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


@dataclass
class _Day:
    """One space's local day as a claim plans it: what it needs to pick prompts and to key rows."""

    r: Any  # the due schedule's row, with its space's columns
    day: date
    send_at: datetime
    members: list[Partner]
    home: Address


class SchedulePlanner:
    """The rows to write for a batch of due schedules (each with its space's columns), planned
    once per claim: what came due while the bot was down is missed, the rest claimed for each
    target not written yet.

    A chat gets one message a day from the step and the check-in: where both are due to the
    same chat on the same local day, the step rides in the check-in (a row `carried`), which
    goes at the earlier of the two times; a sided partner's own prompt rides in their private
    check-in, or with no check-in set, in their private step. `siblings` holds each space's
    prompt and check-in schedules (those due here too); `already` gains the keys planned here.

    `sides` (each sided partner's round) and `seen` (each space's prompts this round) are moved
    on by the prompts picked here."""

    def __init__(
        self,
        now: datetime,
        grace: timedelta,
        claim: dict[str, Any],
        library: Library,
        partners: dict[int, list[Partner]],
        sides: dict[int, dict[str, Any]],
        seen: dict[int, set[str]],
        already: set[Key],
        siblings: dict[int, dict[str, Sibling]] | None = None,
    ) -> None:
        self.now, self.cutoff, self.claim, self.library = now, now - grace, claim, library
        self.partners, self.sides, self.seen, self.already = partners, sides, seen, already
        self.siblings = {k: dict(v) for k, v in (siblings or {}).items()}
        # The (schedule, local date) pairs with a row already: a day a check-in came early
        # with the step (to each private chat) is not missed when its own time finds it down.
        self.days = {(sid, day) for sid, day, _, _ in already}
        self.spaces: dict[int, dict[str, Any]] = {}
        self.out = SchedulePlan()

    def plan(self, rows: Sequence[Any]) -> SchedulePlan:
        plan = self.out
        for r in rows:
            self.spaces.setdefault(
                r.space_id, {"last_topic": r.last_topic, "cycle": r.content_cycle}
            )
        # A row is sent at its due time or at its newest occurrence, never after now; so every
        # schedule moves on to its first occurrence after now, one answer per (time, days, zone).
        upcoming: dict[tuple[str, str, str], datetime] = {}
        sending: list[tuple[Any, datetime]] = []
        for r in rows:
            due: datetime = r.next_due_at
            send_at: datetime | None = due
            if due < self.cutoff:
                # Downtime: the newest occurrence may still be fresh; everything older is missed.
                newest = _next_due(r.local_time, r.weekdays, r.timezone, self.cutoff)
                if (r.id, _local_date(due, r.timezone)) not in self.days:
                    plan.inserts.append(schedule_row(r, due, "missed", None))
                    plan.missed += 1
                send_at = newest if newest <= self.now else None
            when = (r.local_time, r.weekdays, r.timezone)
            if (following := upcoming.get(when)) is None:
                following = upcoming[when] = _next_due(*when, self.now)
            plan.advances.append({"sid": r.id, "next": following})
            if r.kind in ("prompt", "checkin"):
                # Its sibling sees when it is sent now, or else next.
                self.siblings.setdefault(r.space_id, {})[r.kind] = Sibling(
                    r.id, send_at or following
                )
            if send_at is not None:
                sending.append((r, send_at))
        for r, send_at in sending:
            today = _Day(
                r,
                _local_date(send_at, r.timezone),
                send_at,
                self.partners.get(r.space_id, []),
                Address(r.platform, r.chat_id),
            )
            if r.kind == "prompt":
                self._prompt(today)
            elif r.kind == "weekly":
                for t in weekly_targets(today.home, r.direct, today.members):
                    self._claim(today, r.id, t, "weekly")
            else:
                self._checkin(today, r.id)
        # Only the spaces whose prompt this claim picked (their prompt schedule is locked by
        # it), in id order: another instance may be writing the others.
        plan.rotations = [
            {"spid": k, "lt": self.spaces[k]["last_topic"], "cy": self.spaces[k]["cycle"]}
            for k in sorted(k for k, v in self.spaces.items() if v.get("picked"))
        ]
        plan.side_cycles = [
            {"mid": mid, "cy": state["cycle"]}
            for mid, state in self.sides.items()
            if state["cycle"] != state["was"]
        ]
        return plan

    def _sibling(self, today: _Day, kind: str) -> Sibling | None:
        return self.siblings.get(today.r.space_id, {}).get(kind)

    def _to_come(self, today: _Day, sibling: Sibling | None) -> bool:
        """Whether `sibling` is still due on the day planned, in time (not given up as missed),
        and this claim may write its rows."""
        if sibling is None or sibling.held or sibling.next_due_at is None:
            return False
        when = sibling.next_due_at
        return when >= self.cutoff and _local_date(when, today.r.timezone) == today.day

    def _open(self, today: _Day, schedule_id: int, targets: list[Target]) -> list[Target]:
        """Those of `targets` with no row yet for this schedule on the day planned."""
        return [
            t for t in targets if (schedule_id, today.day, t.recipient, t.kind) not in self.already
        ]

    def _prompt(self, today: _Day) -> None:
        r = today.r
        steps = prompt_targets(today.home, r.direct, today.members)
        targets = self._open(today, r.id, steps)
        checkin = self._sibling(today, "checkin")
        if targets and self._to_come(today, checkin):
            assert checkin is not None
            # The check-in comes to a chat the step goes to, later today: it comes now, with
            # the step inside; its other chats keep the check-in's own time.
            checkins = checkin_targets(today.home, r.direct, today.members)
            carriers = {t.address for t in self._open(today, checkin.id, checkins)}
            if shared := carriers & {t.address for t in targets}:
                self._checkin(today, checkin.id, pulled_to=shared)
                self._moved_on(today, checkin, self._open(today, checkin.id, checkins))
                targets = self._open(today, r.id, steps)
        if targets:
            content = self._pick_shared(today)
            for t in targets:
                self._claim(today, r.id, t, content)
        if checkin is None or (checkin.next_due_at is None and not checkin.held):
            # No check-in to carry a side's own prompt: it comes with the step in a partner's
            # private chat, or on its own.
            for member in today.members:
                self._side(today, r.id, member)
        elif not checkin.held:
            # A partner whose check-in came already today (asked for with /checkin) gets their
            # side now, the same way; keyed as the check-in's, so its own time adds none.
            checkins = checkin_targets(today.home, r.direct, today.members)
            open_ = {t.recipient for t in self._open(today, checkin.id, checkins)}
            for member in today.members:
                if member.id not in open_:
                    self._side(today, checkin.id, member)

    def _checkin(
        self, today: _Day, schedule_id: int, pulled_to: set[Address] | None = None
    ) -> None:
        """Check-ins to each target, with the day's step inside one going to a chat the step
        goes to (the step's schedule still to come today), and a sided partner's own prompt
        inside theirs. `pulled_to`: the step's schedule (`today.r`) is due first and brings
        the check-in forward to these chats only."""
        r = today.r
        targets = self._open(
            today, schedule_id, checkin_targets(today.home, r.direct, today.members)
        )
        step: Sibling | None = None  # the step's own schedule, when it is not the one due here
        if pulled_to is not None:
            targets = [t for t in targets if t.address in pulled_to]
            step_id: int | None = r.id
        else:
            step = self._sibling(today, "prompt")
            step_id = step.id if step is not None and self._to_come(today, step) else None
        if not targets:
            if pulled_to is None:
                # Today's check-in came already (asked for with /checkin, see claims'
                # `_asked_for`): a side's own prompt, which would have ridden in it, comes alone.
                for member in today.members:
                    self._side(today, schedule_id, member, alone=True)
            return
        question = self.library.scored_question(r.question_id).id
        for t in targets:
            self._claim(today, schedule_id, t, question)
        if step_id is not None:
            chats = {t.address for t in targets}
            steps = prompt_targets(today.home, r.direct, today.members)
            riders = [t for t in self._open(today, step_id, steps) if t.address in chats]
            if riders:
                content = self._pick_shared(today)
                for t in riders:
                    self._carry(today, step_id, t, content)
                if step is not None:
                    self._moved_on(today, step, self._open(today, step_id, steps))
        for member in today.members:
            if any(t.recipient == member.id for t in targets):
                self._side(today, schedule_id, member, carried=True)

    def _side(
        self,
        today: _Day,
        schedule_id: int,
        member: Partner,
        carried: bool = False,
        alone: bool = False,
    ) -> None:
        """A sided partner's own prompt, every other day, in their private chat: inside the
        message they get there (`carried`, or with no check-in, their step), else (or `alone`:
        no message of the day left to carry it) on its own."""
        state = self.sides.get(member.id)
        key = (schedule_id, today.day, member.id, "side")
        if (
            state is None
            or not member.private_chat
            or not side_day(today.day, member.id)
            or key in self.already
        ):
            return
        r = today.r
        side = pick_side(self.library, member, state, r, self.out.history, self.now, today.send_at)
        if side is None:
            return
        target = Target(member.id, Address(r.platform, member.private_chat), "side")
        if (carried or r.direct) and not alone:
            self._carry(today, schedule_id, target, side)
        else:
            self._claim(today, schedule_id, target, side)

    def _moved_on(self, today: _Day, sibling: Sibling, left: list[Target]) -> None:
        """A schedule not due in this claim whose day is all written here (nothing `left` for
        its own time) moves on to its next time, so /schedule says when it truly comes next."""
        if sibling.local_time is None or sibling.next_due_at is None or left:
            return
        after = _next_due(
            sibling.local_time, sibling.weekdays, today.r.timezone, sibling.next_due_at
        )
        self.out.advances.append({"sid": sibling.id, "next": after})

    def _pick_shared(self, today: _Day) -> str:
        return pick_shared(
            self.library,
            today.r,
            self.spaces,
            self.seen,
            self.out.history,
            self.now,
            today.send_at,
        )

    def _claim(self, today: _Day, schedule_id: int, target: Target, content: str) -> None:
        row = schedule_row(today.r, today.send_at, "claimed", content, target, self.claim)
        row["schedule_id"] = schedule_id
        self.out.inserts.append(row)
        self.out.addresses[(schedule_id, target.recipient, target.kind)] = target.address
        self.already.add((schedule_id, today.day, target.recipient, target.kind))

    def _carry(self, today: _Day, schedule_id: int, target: Target, content: str) -> None:
        """A row whose content goes inside the message its chat gets that day (see riders)."""
        row = schedule_row(today.r, today.send_at, "carried", content, target)
        row["schedule_id"] = schedule_id
        row["reason"] = "inside the day's one message to this chat"
        self.out.inserts.append(row)
        self.already.add((schedule_id, today.day, target.recipient, target.kind))


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
