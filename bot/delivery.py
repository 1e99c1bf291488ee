"""Claims what is due, sends it once, records the outcome, and advances each schedule."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, delete, func, insert, null, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.content import Library, Pick, fitting, pick_prompt
from bot.messages import Address, Outgoing, SendResult, SendStatus
from bot.ports import Clock, Messenger
from bot.render import (
    checkin_message,
    private_checkin_message,
    prompt_message,
    side_prompt_message,
)
from bot.schedule import local_date, next_due
from bot.store import (
    ContentHistory,
    Delivery,
    Instance,
    Member,
    Plain,
    Promise,
    PromiseStatus,
    Schedule,
    Space,
    Store,
    move_space,
    upsert_insert,
)
from bot.timeparse import zone_from_name

log = logging.getLogger(__name__)

# A claim asks the same question for most of its rows (the same local time, zone and now):
# the answers are pure, so each is worked out once.
_next_due = functools.lru_cache(maxsize=4096)(next_due)
_local_date = functools.lru_cache(maxsize=4096)(local_date)

BATCH = 1000
SEND_TIMEOUT = 60.0
CONCURRENCY = 64
# Rows are marked `handing` this many at a time, just before their sends start: a kill loses at
# most what was marked and not yet answered, fewer than 2 x CONCURRENCY, never a whole batch.
HAND_GROUP = CONCURRENCY
# With other instances alive, a claim takes only this many rows, so a burst is shared out
# instead of one instance holding it all behind its share of the platform's rate.
SHARED_BATCH = HAND_GROUP
# Each instance beats this often; a claim holds this long past the last beat that renewed it.
HEARTBEAT = timedelta(seconds=30)
LEASE = timedelta(seconds=90)
# A claim still open when its instance stopped: sent by another instance if it never left
# (`claimed`), given up if it may have (`handing`).
OPEN = ("claimed", "handing")


_RETURNED = (
    "id",
    "schedule_id",
    "status",
    "kind",
    "local_date",
    "content_id",
    "space_id",
    "recipient",
    "variant",
)


class _Written(NamedTuple):
    """A claim row as RETURNING gives it back (the names of `_RETURNED`)."""

    id: int
    schedule_id: int | None
    status: str
    kind: str
    local_date: date
    content_id: str | None
    space_id: int
    recipient: int
    variant: str | None


@dataclass
class Job:
    """One claimed delivery, ready to render and send."""

    delivery_id: int
    space_id: int
    kind: str
    local_date: date
    content_id: str
    address: Address
    attempts: int = 0
    recipient: int = 0  # 0: the space's own chat; else a partner's private chat
    variant: str | None = None
    parts_sent: int = 0  # a split message's parts that arrived before a retry: never sent again


@dataclass(frozen=True)
class Partner:
    """What the claim needs to know of a partner: where their private chat is, and their side."""

    id: int
    space_id: int
    private_chat: str | None
    side: str | None
    side_cycle: int


@dataclass(frozen=True)
class Target:
    """One message a due schedule sends: to whom, which kind, and how a check-in looks there."""

    recipient: int
    address: Address
    kind: str
    variant: str | None = None


def checkin_targets(space: Address, direct: bool, partners: Sequence[Partner]) -> list[Target]:
    """A check-in goes to each partner's private chat, and (with a group) a line to the group."""
    linked = [p for p in partners if p.private_chat]
    targets = [
        Target(p.id, Address(space.platform, p.private_chat), "checkin")
        for p in linked
        if p.private_chat
    ]
    if not direct:
        if not linked:
            variant = "full"
        elif len(linked) == len(partners) and len(partners) >= 2:
            variant = "line"
        else:
            variant = "mixed"
        targets.insert(0, Target(0, space, "checkin", variant))
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


# Kinds whose message is put together from the database when it is sent (the weekly look back,
# a promise's follow-up), rather than from content alone. None: nothing to send after all.
Composer = Callable[[list["Job"]], Awaitable[list[Outgoing | None]]]
EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"
# A promise's follow-up: when it is next asked, after this one, given (due date, asks so far,
# local time, zone). Set by the core (bot/promises.py), which owns that rule.
NextAsk = Callable[[date, int, str, str], datetime | None]


def side_day(day: date, partner_id: int) -> bool:
    """A partner with a side gets a prompt for it in private every other day."""
    return (day.toordinal() + partner_id) % 2 == 0


@dataclass
class DispatchReport:
    sent: int = 0
    missed: int = 0
    retrying: int = 0
    failed: int = 0
    deactivated: int = 0
    moved: int = 0


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 10 min, with jitter so retries do not arrive in step.

    A retry goes on until the grace window has passed (then it is recorded missed), so an hour's
    outage delays the day's prompt rather than losing it."""
    base = min(30 * 2 ** max(attempts - 1, 0), 600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def render(job: Job, library: Library, bulk: bool = False) -> Outgoing:
    if job.kind == "prompt":
        prompt = library.by_id[job.content_id]
        return prompt_message(job.address, prompt, job.local_date, bulk=bulk)
    if job.kind == "side":
        prompt = library.by_id[job.content_id]
        return side_prompt_message(job.address, prompt, job.local_date, bulk=bulk)
    question = library.scored_question(job.content_id)
    reflection = library.reflection_for(job.local_date.toordinal(), question.id)
    if job.recipient:
        return private_checkin_message(
            job.address, question, job.delivery_id, job.local_date, reflection, bulk=bulk
        )
    return checkin_message(
        job.address, question, job.delivery_id, job.variant or "full", reflection, bulk=bulk
    )


# Records a send's outcome; its lease ends with it.
_RECORD = (
    update(Delivery)
    .where(Delivery.__table__.c.id == bindparam("did"))  # type: ignore[attr-defined]
    .values(
        status=bindparam("status"),
        attempts=bindparam("attempts"),
        next_attempt_at=bindparam("next_attempt_at"),
        message_ref=bindparam("message_ref"),
        sent_at=bindparam("sent_at"),
        reason=bindparam("reason"),
        parts_sent=bindparam("parts_sent"),
        lease_until=null(),
    )
)
# The next rows go out: marked `handing`, those still claimed by this instance.
_HAND = (
    update(Delivery)
    .where(
        Delivery.__table__.c.id.in_(bindparam("ids", expanding=True)),  # type: ignore[attr-defined]
        Delivery.__table__.c.status == "claimed",  # type: ignore[attr-defined]
        Delivery.__table__.c.claimed_by == bindparam("me"),  # type: ignore[attr-defined]
    )
    .values(status="handing")
    .returning(Delivery.__table__.c.id)  # type: ignore[attr-defined]
)
# A claimed schedule moves on to its next due time.
_ADVANCE = (
    update(Schedule)
    .where(Schedule.__table__.c.id == bindparam("sid"))  # type: ignore[attr-defined]
    .values(next_due_at=bindparam("next"))
)
# Where a space's prompt rotation stands after a claim picked its prompt.
_ROTATION = (
    update(Space)
    .where(Space.__table__.c.id == bindparam("spid"))  # type: ignore[attr-defined]
    .values(last_topic=bindparam("lt"), content_cycle=bindparam("cy"))
)
_HISTORY_COLUMNS = ("space_id", "member_id", "prompt_id", "cycle", "shown_at")
# The columns a schedule's claim writes (`Dispatcher._row`), and the id SQLite's claim gives.
_CLAIM_COLUMNS = (
    "id",
    "space_id",
    "schedule_id",
    "kind",
    "recipient",
    "variant",
    "local_date",
    "due_at",
    "status",
    "attempts",
    "content_id",
    "reason",
    "claimed_by",
    "lease_until",
)


def claim_insert(dialect: str) -> Any:
    """A claim's insert: it skips a row whose key is already taken (another instance won it)."""
    table = Delivery.__table__  # type: ignore[attr-defined]
    return upsert_insert(dialect)(table).on_conflict_do_nothing()


class Dispatcher:
    """The delivery loop; one call to `dispatch_due` sends everything due at the clock's now."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        library: Library,
        messenger: Messenger,
        grace: timedelta,
        platforms: frozenset[str] | None = None,
        composers: dict[str, Composer] | None = None,
        next_ask: NextAsk | None = None,
    ) -> None:
        self.platforms = platforms  # only chats whose platform is connected now are claimed
        self.composers = composers or {}
        self.next_ask = next_ask
        self.store = store
        self.clock = clock
        self.library = library
        self.messenger = messenger
        self.grace = grace
        self._limit = asyncio.Semaphore(CONCURRENCY)
        self._running = asyncio.Lock()
        # Who claims: a fresh id per process, so a restarted process never mistakes the
        # claims its predecessor left for its own.
        self.instance = str(uuid.uuid4())
        self._started: datetime | None = None
        self.instances = 1  # live instances at the last beat
        # The hot writes, run without SQLAlchemy's per-row parameter processing (see Plain).
        dialect = store.engine.dialect
        self._recorded = Plain(_RECORD, dialect)
        self._advanced = Plain(_ADVANCE, dialect)
        self._rotated = Plain(_ROTATION, dialect)
        self._shown = Plain(insert(ContentHistory), dialect, _HISTORY_COLUMNS)
        self._claimed = Plain(self._insert(), dialect, _CLAIM_COLUMNS)

    @property
    def batch(self) -> int:
        """How many rows one claim takes: all it can (a batch) alone, a fair slice when shared."""
        return BATCH if self.instances <= 1 else SHARED_BATCH

    async def dispatch_due(self) -> DispatchReport:
        report = DispatchReport()
        async with self._running:  # two ticks never claim the same rows
            now = self.clock.now()
            if not self.store.is_sqlite:
                # Counted at every tick, not only at the beat: an instance that started a moment
                # ago must get its slice of a burst due now.
                self.instances = await self._live(now)
            # Each loop runs until no due row is left: a batch that was all missed or stale
            # must not leave fresh rows behind it for the next tick.
            while (claimed := await self._claim_schedules(now, report)) is not None:
                await self._send_and_record(claimed, report)
            while self.next_ask is not None and (
                (claimed := await self._claim_promises(now, report)) is not None
            ):
                await self._send_and_record(claimed, report)
            while (claimed := await self._claim_retries(now, report)) is not None:
                await self._send_and_record(claimed, report)
        return report

    async def idle(self) -> None:
        """Returns once no dispatch is in flight."""
        async with self._running:
            return

    def _connected(self, platform_column: Any) -> Any:
        if self.platforms is None:
            return true()
        # On SQLite, `platform || ''` keeps the planner off the space's (platform, chat_id) index:
        # through it, a claim sorted every space for each batch instead of walking the due-time
        # index (100 ms a batch at 200,000 spaces, against 1 ms), whatever the statistics say.
        column = platform_column.concat("") if self.store.is_sqlite else platform_column
        return column.in_(self.platforms)

    def _locked(self, query: Any, table: Any) -> Any:
        """On PostgreSQL, the rows a claim reads are locked, and rows another instance is
        claiming are skipped rather than waited for; SQLite has one writer already."""
        if self.store.is_sqlite:
            return query
        return query.with_for_update(skip_locked=True, of=table)

    def _insert(self) -> Any:
        return claim_insert(self.store.engine.dialect.name)

    def _claim(self, now: datetime) -> dict[str, Any]:
        return {"claimed_by": self.instance, "lease_until": now + LEASE}

    async def _live(self, now: datetime) -> int:
        """How many instances beat within a lease (this one included, at least one)."""
        i = Instance.__table__.c  # type: ignore[attr-defined]
        async with self.store.read() as session:
            conn = await session.connection()
            live = (
                await conn.execute(
                    select(func.count())
                    .select_from(Instance.__table__)  # type: ignore[attr-defined]
                    .where(i.beat_at >= now - LEASE)
                )
            ).scalar_one()
        return max(int(live), 1)

    async def beat(self) -> int:
        """This instance is alive: its heartbeat and the leases of its open claims move on,
        what stopped instances left is recovered, and the number of live instances returned
        (each takes that share of the platform's rate)."""
        now = self.clock.now()
        self._started = self._started or now
        i, d = Instance.__table__.c, Delivery.__table__.c  # type: ignore[attr-defined]
        insert_ = upsert_insert(self.store.engine.dialect.name)
        async with self.store.writing() as conn:
            await conn.execute(
                insert_(Instance.__table__)  # type: ignore[attr-defined]
                .values(id=self.instance, started_at=self._started, beat_at=now)
                .on_conflict_do_update(index_elements=["id"], set_={"beat_at": now})
            )
            open_claims: Any = and_(d.status.in_(OPEN), d.claimed_by == self.instance)
            if not self.store.is_sqlite:
                # Rows a send of ours is writing right now are skipped (the next beat gets them),
                # so a beat never waits on, or deadlocks with, this instance's own dispatch.
                open_claims = d.id.in_(
                    select(d.id).where(open_claims).with_for_update(skip_locked=True)
                )
            await conn.execute(update(Delivery).where(open_claims).values(lease_until=now + LEASE))
            # An instance silent for a day is long gone; its claims were recovered by then.
            await conn.execute(delete(Instance).where(i.beat_at < now - timedelta(days=1)))
        await self.recover()
        self.instances = await self._live(now)
        return self.instances

    async def leave(self) -> None:
        """A clean stop: this instance no longer counts as live (its share of the rate goes
        to the others at their next beat)."""
        async with self.store.writing() as conn:
            await conn.execute(
                delete(Instance).where(Instance.__table__.c.id == self.instance)  # type: ignore[attr-defined]
            )

    async def send_jobs(self, jobs: list[Job]) -> DispatchReport:
        """Sends deliveries claimed elsewhere (an on-demand check-in) and records the outcome."""
        report = DispatchReport()
        await self._send_and_record(jobs, report, bulk=False)  # someone asked and is waiting
        return report

    async def recover(self) -> int:
        """The open claims of instances that stopped: what was claimed but never handed to the
        platform is sent (through the retry path, so a stale one is recorded missed); what was
        being handed over may have arrived, and is marked interrupted, never resent.

        On PostgreSQL only claims whose lease expired, of instances that stopped beating, are
        taken. SQLite runs one process (a file lock refuses a second), so there every claim
        not made by this instance is left over from before a restart. Returns how many were
        interrupted."""
        now = self.clock.now()
        d, i = Delivery.__table__.c, Instance.__table__.c  # type: ignore[attr-defined]
        mine = d.claimed_by == self.instance
        if self.store.is_sqlite:
            orphan = or_(d.claimed_by.is_(None), ~mine)
        else:
            live = select(i.id).where(i.beat_at >= now - LEASE)
            orphan = and_(
                or_(d.claimed_by.is_(None), and_(~mine, d.claimed_by.not_in(live))),
                or_(d.lease_until.is_(None), d.lease_until < now),
            )
        async with self.store.writing() as conn:
            lost = await conn.execute(
                update(Delivery)
                .where(d.status == "handing", orphan)
                .values(status="interrupted", reason="stopped while sending", lease_until=None)
            )
            again = await conn.execute(
                update(Delivery)
                .where(d.status == "claimed", orphan)
                .values(
                    status="retry",
                    next_attempt_at=now,
                    reason="claimed by an instance that stopped",
                    claimed_by=None,
                    lease_until=None,
                )
            )
        interrupted = int(getattr(lost, "rowcount", 0) or 0)
        reclaimed = int(getattr(again, "rowcount", 0) or 0)
        if interrupted or reclaimed:
            log.warning(
                "recovered after a stop: %d claimed but never handed over, to be sent now; "
                "%d were being handed over and are not resent",
                reclaimed,
                interrupted,
            )
        return interrupted

    async def _claim_schedules(self, now: datetime, report: DispatchReport) -> list[Job] | None:
        """The next batch of due schedules, claimed; None once no due schedule is left."""
        s, sp = Schedule.__table__.c, Space.__table__.c  # type: ignore[attr-defined]
        query = (
            select(
                s.id,
                s.space_id,
                s.kind,
                s.local_time,
                s.weekdays,
                s.next_due_at,
                sp.timezone,
                sp.topics,
                sp.last_topic,
                sp.content_cycle,
                sp.platform,
                sp.chat_id,
                sp.direct,
                sp.question_id,
                sp.apart,
            )
            .join(
                Space, and_(sp.id == s.space_id, sp.active.is_(True), self._connected(sp.platform))
            )
            .where(s.next_due_at <= now)
            .order_by(s.next_due_at)
            .limit(self.batch)
        )
        async with self.store.writing() as conn:
            rows = (await conn.execute(self._locked(query, Schedule.__table__))).all()  # type: ignore[attr-defined]
            if not rows:
                return None
            return await self._claim_rows(conn, rows, now, report)

    async def _claim_rows(
        self, conn: AsyncConnection, rows: Sequence[Any], now: datetime, report: DispatchReport
    ) -> list[Job]:
        space_ids = list({r.space_id for r in rows})
        seen = await self._seen(conn, space_ids)
        partners = await self._partners(conn, space_ids)
        sides = await self._side_state(
            conn, [p for ps in partners.values() for p in ps if p.side and p.private_chat]
        )
        spaces: dict[int, dict[str, Any]] = {}
        for r in rows:
            spaces.setdefault(r.space_id, {"last_topic": r.last_topic, "cycle": r.content_cycle})
        oldest = min(r.next_due_at for r in rows).date() - timedelta(days=1)
        already = await self._already_keyed(conn, [r.id for r in rows], oldest)
        inserts: list[dict[str, Any]] = []
        advances: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        addresses: dict[tuple[int, int, str], Address] = {}
        claim = self._claim(now)
        cutoff = now - self.grace
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
                    inserts.append(self._row(r, due, "missed", None))
                    report.missed += 1
                send_at = newest if newest <= now else None
            when = (r.local_time, r.weekdays, r.timezone)
            if (following := upcoming.get(when)) is None:
                following = upcoming[when] = _next_due(*when, now)
            advances.append({"sid": r.id, "next": following})
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
                    content = self._pick_shared(r, spaces, seen, history, now, send_at)
                    planned += [(t, content) for t in targets]
                for member in members:
                    state = sides.get(member.id)
                    key = (r.id, day, member.id, "side")
                    if state is None or not side_day(day, member.id) or key in already:
                        continue
                    side = self._pick_side(member, state, r, history, now, send_at)
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
                question = self.library.scored_question(r.question_id).id
                planned += [
                    (t, question)
                    for t in checkin_targets(home, r.direct, members)
                    if (r.id, day, t.recipient, t.kind) not in already
                ]
            for target, content in planned:
                inserts.append(self._row(r, send_at, "claimed", content, target, claim))
                addresses[(r.id, target.recipient, target.kind)] = target.address
        jobs: list[Job] = []
        # Written before the send: the unique (schedule, local date, recipient, kind) key makes
        # a second send of the same day impossible, whatever happens after this commit.
        for d in await self._write_claims(conn, inserts):
            if d.status == "claimed":
                jobs.append(
                    Job(
                        d.id,
                        d.space_id,
                        d.kind,
                        d.local_date,
                        d.content_id,
                        addresses[(d.schedule_id, d.recipient, d.kind)],
                        recipient=d.recipient,
                        variant=d.variant,
                    )
                )
        if history:
            await self._shown.run(conn, history)
            # Only the spaces whose prompt this claim picked (their prompt schedule is locked by
            # it), in id order: another instance may be writing the others.
            picked = sorted(k for k, v in spaces.items() if v.get("picked"))
            await self._rotated.run(
                conn,
                (
                    {"spid": k, "lt": spaces[k]["last_topic"], "cy": spaces[k]["cycle"]}
                    for k in picked
                ),
            )
            cycles = [
                {"mid": mid, "cy": state["cycle"]}
                for mid, state in sides.items()
                if state["cycle"] != state["was"]
            ]
            if cycles:
                await conn.execute(
                    update(Member)
                    .where(Member.__table__.c.id == bindparam("mid"))  # type: ignore[attr-defined]
                    .values(side_cycle=bindparam("cy")),
                    cycles,
                )
        await self._advanced.run(conn, advances)
        return jobs

    async def _write_claims(
        self, conn: AsyncConnection, inserts: list[dict[str, Any]]
    ) -> list[Any]:
        """Inserts a claim's rows; returns those written (with their ids), in `_RETURNED` form.

        PostgreSQL: a row whose key another instance wrote first is skipped, not the whole batch,
        and RETURNING says which rows are ours. SQLite has one writer (a file lock keeps a second
        process out, the write lock a second transaction), and the claim already left out every
        key written before: the ids are given here, and the rows inserted as plain tuples."""
        if not inserts:
            return []
        if not self.store.is_sqlite:
            result = await conn.execute(
                self._insert().returning(
                    *(Delivery.__table__.c[name] for name in _RETURNED)  # type: ignore[attr-defined]
                ),
                inserts,
            )
            return list(result.all())
        last = await conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM delivery")
        first = int(last.scalar_one()) + 1
        for offset, row in enumerate(inserts):
            row["id"] = first + offset
        await self._claimed.run(conn, inserts)
        return [_Written(*(row[name] for name in _RETURNED)) for row in inserts]

    def _pick_shared(
        self,
        r: Any,
        spaces: dict[int, dict[str, Any]],
        seen: dict[int, set[str]],
        history: list[dict[str, Any]],
        now: datetime,
        send_at: datetime,
    ) -> str:
        state = spaces[r.space_id]
        state["picked"] = True
        seen_here = seen.setdefault(r.space_id, set())
        if state["cycle"] == 0 and (
            path := [p for p in self.library.first_week if p not in seen_here]
        ):
            # A new space walks the gentle first week before the shuffle begins.
            prompt = self.library.by_id[path[0]]
            pick = Pick(prompt, new_cycle=False)
        else:
            pick = pick_prompt(
                self.library,
                r.topics.split(","),
                state["last_topic"],
                seen_here,
                r.space_id,
                fits=fitting(send_at.astimezone(zone_from_name(r.timezone)).hour, r.apart),
            )
        if pick.new_cycle:
            state["cycle"] += 1
            seen[r.space_id] = set()
        state["last_topic"] = pick.prompt.topic
        seen[r.space_id].add(pick.prompt.id)
        history.append(
            {
                "space_id": r.space_id,
                "member_id": 0,
                "prompt_id": pick.prompt.id,
                "cycle": state["cycle"],
                "shown_at": now,
            }
        )
        return pick.prompt.id

    def _pick_side(
        self,
        member: Partner,
        state: dict[str, Any],
        r: Any,
        history: list[dict[str, Any]],
        now: datetime,
        send_at: datetime,
    ) -> str | None:
        try:
            pick = pick_prompt(
                self.library,
                r.topics.split(","),
                state["last_topic"],
                state["seen"],
                member.id,
                audience=member.side or "both",
                fits=fitting(send_at.astimezone(zone_from_name(r.timezone)).hour, r.apart),
            )
        except ValueError:  # no prompts for this side in the library
            return None
        if pick.new_cycle:
            state["cycle"] += 1
            state["seen"] = set()
        state["last_topic"] = pick.prompt.topic
        state["seen"].add(pick.prompt.id)
        history.append(
            {
                "space_id": member.space_id,
                "member_id": member.id,
                "prompt_id": pick.prompt.id,
                "cycle": state["cycle"],
                "shown_at": now,
            }
        )
        return pick.prompt.id

    @staticmethod
    def _row(
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

    async def _seen(self, conn: AsyncConnection, space_ids: list[int]) -> dict[int, set[str]]:
        h, sp = ContentHistory.__table__.c, Space.__table__.c  # type: ignore[attr-defined]
        rows = await conn.execute(
            select(h.space_id, h.prompt_id)
            .join(Space, and_(sp.id == h.space_id, sp.content_cycle == h.cycle))
            .where(h.space_id.in_(space_ids), h.member_id == 0)
        )
        seen: dict[int, set[str]] = {}
        for space_id, prompt_id in rows:
            seen.setdefault(space_id, set()).add(prompt_id)
        return seen

    @staticmethod
    async def _partners(conn: AsyncConnection, space_ids: list[int]) -> dict[int, list[Partner]]:
        m = Member.__table__.c  # type: ignore[attr-defined]
        rows = await conn.execute(
            select(m.id, m.space_id, m.private_chat, m.side, m.side_cycle)
            .where(m.space_id.in_(space_ids), m.partner.is_(True))
            .order_by(m.id)
        )
        found: dict[int, list[Partner]] = {}
        for r in rows:
            found.setdefault(r.space_id, []).append(Partner(*r))
        return found

    async def _side_state(
        self, conn: AsyncConnection, members: list[Partner]
    ) -> dict[int, dict[str, Any]]:
        """Each sided partner's round: the side prompts seen in it, and the last one's topic."""
        state: dict[int, dict[str, Any]] = {
            p.id: {"seen": set(), "cycle": p.side_cycle, "was": p.side_cycle, "last_topic": None}
            for p in members
        }
        if not members:
            return state
        h = ContentHistory.__table__.c  # type: ignore[attr-defined]
        rows = await conn.execute(
            select(h.member_id, h.prompt_id, h.cycle)
            .where(h.member_id.in_(list(state)))
            .order_by(h.shown_at, h.id)
        )
        for member_id, prompt_id, cycle in rows:
            entry = state[member_id]
            if cycle == entry["cycle"]:
                entry["seen"].add(prompt_id)
            prompt = self.library.by_id.get(prompt_id)
            if prompt is not None:
                entry["last_topic"] = prompt.topic
        return state

    @staticmethod
    async def _already_keyed(
        conn: AsyncConnection, schedule_ids: list[int], since: date
    ) -> set[tuple[int, date, int, str]]:
        d = Delivery.__table__.c  # type: ignore[attr-defined]
        rows = await conn.execute(
            select(d.schedule_id, d.local_date, d.recipient, d.kind).where(
                d.schedule_id.in_(schedule_ids), d.local_date >= since
            )
        )
        return {(a, b, c, k) for a, b, c, k in rows}

    async def _claim_promises(self, now: datetime, report: DispatchReport) -> list[Job] | None:
        """Promises whose follow-up is due: one ask a local day at most, to the promiser alone
        (their private chat; the shared chat only for a shared promise of someone unlinked)."""
        assert self.next_ask is not None
        p, sp = Promise.__table__.c, Space.__table__.c  # type: ignore[attr-defined]
        m, s = Member.__table__.c, Schedule.__table__.c  # type: ignore[attr-defined]
        query = (
            select(
                p.id,
                p.space_id,
                p.member_id,
                p.due_date,
                p.next_ask_at,
                p.asks,
                p.shared,
                sp.timezone,
                sp.platform,
                sp.chat_id,
                sp.direct,
                m.private_chat,
            )
            .join(
                Space, and_(sp.id == p.space_id, sp.active.is_(True), self._connected(sp.platform))
            )
            .join(Member, and_(m.id == p.member_id, m.partner.is_(True)))
            .where(p.next_ask_at <= now, p.status == PromiseStatus.OPEN)
            .order_by(p.next_ask_at)
            .limit(self.batch)
        )
        async with self.store.writing() as conn:
            rows = (await conn.execute(self._locked(query, Promise.__table__))).all()  # type: ignore[attr-defined]
            if not rows:
                return None
            times: dict[int, str] = {}
            found = await conn.execute(
                select(s.space_id, s.kind, s.local_time).where(
                    s.space_id.in_({r.space_id for r in rows}), s.kind.in_(("checkin", "prompt"))
                )
            )
            for space_id, kind, local_time in found:
                if kind == "checkin" or space_id not in times:
                    times[space_id] = local_time
            d = Delivery.__table__.c  # type: ignore[attr-defined]
            keyed = await conn.execute(
                select(d.promise_id, d.local_date).where(d.promise_id.in_([r.id for r in rows]))
            )
            already = {(a, b) for a, b in keyed}
            inserts: list[dict[str, Any]] = []
            advances: list[dict[str, Any]] = []
            addresses: dict[int, Address] = {}
            for r in rows:
                at = times.get(r.space_id, "20:00")
                due: datetime = r.next_ask_at
                send_at = due
                if now - due > self.grace:
                    # Downtime: asked within the grace window, or else on the next day.
                    newest = next_due(at, EVERY_DAY, r.timezone, now - self.grace)
                    if (r.id, local_date(due, r.timezone)) not in already:
                        inserts.append(self._promise_row(r, due, "missed", 0))
                        already.add((r.id, local_date(due, r.timezone)))
                        report.missed += 1
                    if newest > now:
                        advances.append({"pid": r.id, "next": newest, "asks": r.asks})
                        continue
                    send_at = newest
                if (r.id, local_date(send_at, r.timezone)) in already:
                    # Asked on that local day already: once a day at most.
                    later = next_due(at, EVERY_DAY, r.timezone, send_at)
                    advances.append({"pid": r.id, "next": later, "asks": r.asks})
                    continue
                if r.private_chat:
                    to = Address(r.platform, r.private_chat)
                elif r.shared and not r.direct:
                    to = Address(r.platform, r.chat_id)
                else:  # nowhere private to ask: it waits in /promises
                    advances.append({"pid": r.id, "next": None, "asks": r.asks})
                    continue
                upcoming = self.next_ask(r.due_date, r.asks + 1, at, r.timezone)
                advances.append({"pid": r.id, "next": upcoming, "asks": r.asks + 1})
                recipient = r.member_id if r.private_chat else 0
                inserts.append(self._promise_row(r, send_at, "claimed", recipient))
                inserts[-1].update(self._claim(now))
                addresses[r.id] = to
            jobs: list[Job] = []
            if inserts:
                # Written before the send: (promise, local date) is unique, so never asked twice.
                result = await conn.execute(
                    self._insert().returning(
                        *(Delivery.__table__.c[name] for name in (*_RETURNED, "promise_id"))  # type: ignore[attr-defined]
                    ),
                    inserts,
                )
                for row in result.all():
                    if row.status == "claimed":
                        jobs.append(
                            Job(
                                row.id,
                                row.space_id,
                                "promise",
                                row.local_date,
                                row.content_id,
                                addresses[row.promise_id],
                                recipient=row.recipient,
                            )
                        )
            await conn.execute(
                update(Promise)
                .where(p.id == bindparam("pid"))
                .values(next_ask_at=bindparam("next"), asks=bindparam("asks")),
                advances,
            )
        return jobs

    @staticmethod
    def _promise_row(r: Any, due: datetime, status: str, recipient: int) -> dict[str, Any]:
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

    async def _claim_retries(self, now: datetime, report: DispatchReport) -> list[Job] | None:
        """The next batch of due retries, claimed; None once no due retry is left.

        Only rows this claim's UPDATE actually moved out of `retry` are sent: a row another
        instance claimed in between is theirs (on PostgreSQL the read already skips rows
        another claim holds)."""
        d, sp = Delivery.__table__.c, Space.__table__.c  # type: ignore[attr-defined]
        m = Member.__table__.c  # type: ignore[attr-defined]
        query = (
            select(
                d.id,
                d.space_id,
                d.kind,
                d.local_date,
                d.content_id,
                d.attempts,
                d.due_at,
                d.recipient,
                d.variant,
                d.parts_sent,
                sp.platform,
                sp.chat_id,
                m.private_chat,
            )
            .join(
                Space,
                and_(sp.id == d.space_id, sp.active.is_(True), self._connected(sp.platform)),
            )
            .outerjoin(Member, m.id == d.recipient)
            .where(d.status == "retry", d.next_attempt_at <= now)
            .order_by(d.next_attempt_at)
            .limit(self.batch)
        )
        async with self.store.writing() as conn:
            rows = (await conn.execute(self._locked(query, Delivery.__table__))).all()  # type: ignore[attr-defined]
            if not rows:
                return None
            # A retry that would arrive later than the grace window is stale: give it up; so is
            # one for a private chat that was unlinked meanwhile.
            stale = [r.id for r in rows if now - r.due_at > self.grace]
            unlinked = [r.id for r in rows if r.recipient and r.private_chat is None]
            rows = [r for r in rows if r.id not in stale and r.id not in unlinked]
            if stale:
                given_up = await conn.execute(
                    update(Delivery)
                    .where(d.id.in_(stale), d.status == "retry")
                    .values(status="missed", reason="still failing after the grace window")
                )
                report.missed += int(getattr(given_up, "rowcount", 0) or 0)
            if unlinked:
                await conn.execute(
                    update(Delivery)
                    .where(d.id.in_(unlinked), d.status == "retry")
                    .values(status="failed", reason="private chat unlinked")
                )
            if rows:
                taken = await conn.execute(
                    update(Delivery)
                    .where(d.id.in_([r.id for r in rows]), d.status == "retry")
                    .values(status="claimed", **self._claim(now))
                    .returning(d.id)
                )
                ours = set(taken.scalars().all())
                rows = [r for r in rows if r.id in ours]
        return [
            Job(
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
            )
            for r in rows
        ]

    async def _send_one(self, msg: Outgoing) -> SendResult:
        try:
            async with asyncio.timeout(SEND_TIMEOUT):  # unlike wait_for, no task per send
                return await self.messenger.send(msg)
        except TimeoutError:
            return SendResult(SendStatus.RETRY, reason="timeout")
        except Exception as err:  # an adapter bug must not stop the other chats' deliveries
            log.error("send raised %s; will retry", type(err).__name__)
            return SendResult(SendStatus.RETRY, reason=type(err).__name__)

    async def _render_all(
        self, jobs: list[Job], bulk: bool
    ) -> tuple[list[Outgoing | None], dict[int, str]]:
        """Each job's message (None: nothing to say after all), and the jobs that could not be
        rendered, each with its reason; one bad job never holds up the rest. `bulk` marks them
        scheduled, so the platform may hold them behind replies someone is waiting for."""
        messages: list[Outgoing | None] = [None] * len(jobs)
        broken: dict[int, str] = {}
        by_kind: dict[str, list[int]] = {}
        for index, job in enumerate(jobs):
            if job.kind in self.composers:
                by_kind.setdefault(job.kind, []).append(index)
                continue
            try:
                messages[index] = render(job, self.library, bulk)
            except Exception as err:  # say, a prompt removed from content/ since it was claimed
                log.error(
                    "rendering %s %s failed with %s", job.kind, job.content_id, type(err).__name__
                )
                broken[index] = f"could not render: {type(err).__name__}"
        for kind, indexes in by_kind.items():
            try:
                composed = await self.composers[kind]([jobs[i] for i in indexes])
            except Exception as err:  # a bug in one kind must not stop the other deliveries
                log.error("composing %s failed with %s", kind, type(err).__name__)
                broken.update((i, f"could not compose: {type(err).__name__}") for i in indexes)
                continue
            for index, message in zip(indexes, composed, strict=True):
                messages[index] = message
        for index, job in enumerate(jobs):
            message = messages[index]
            if message is not None and (job.parts_sent or bulk != message.bulk):
                messages[index] = replace(message, resume_at_part=job.parts_sent, bulk=bulk)
        return messages, broken

    async def _send_and_record(
        self, jobs: list[Job], report: DispatchReport, bulk: bool = True
    ) -> None:
        messages, broken = await self._render_all(jobs, bulk)
        quiet = {i for i, m in enumerate(messages) if m is None and i not in broken}
        sendable = [i for i, m in enumerate(messages) if m is not None]
        results: dict[int, SendResult] = {}
        outcomes: dict[int, dict[str, Any]] = {}  # finished, not yet written
        marked = 0  # sendable[:marked] are marked `handing`
        marking = asyncio.Lock()
        mine: set[int] = set()  # the rows this instance marked, still its own claims then

        async def hand_over(position: int) -> None:
            # Rows are marked a small group at a time, just before their sends start; the
            # outcomes finished meanwhile are written in the same transaction.
            nonlocal marked
            if position < marked:  # its group is marked already: no need to queue for the lock
                return
            async with marking:
                while position >= marked:
                    group = [jobs[i].delivery_id for i in sendable[marked : marked + HAND_GROUP]]
                    done, outcomes_now = list(outcomes), list(outcomes.values())
                    mine.update(await self._write(group, outcomes_now))
                    for index in done:
                        del outcomes[index]
                    marked += len(group)

        async def deliver(position: int, index: int) -> None:
            job, message = jobs[index], messages[index]
            assert message is not None
            async with self._limit:
                await hand_over(position)
                if job.delivery_id not in mine:
                    # Stalled past its lease, this instance lost the row to another one's
                    # recovery, which sends it: sending it here too would be a double.
                    taken.add(index)
                    return
                result = await self._send_one(message)
                if (
                    result.status is SendStatus.MOVED
                    and result.new_address is not None
                    and not job.recipient  # a private chat never moves; a group may
                ):
                    moved = await self._move(job.space_id, result.new_address)
                    report.moved += 1
                    job.address = moved
                    result = await self._send_one(replace(message, to=moved))
            results[index] = result
            outcomes[index] = self._outcome(job, result)

        taken: set[int] = set()
        queue = iter(enumerate(sendable))  # shared: each worker takes the next job in order

        async def worker() -> None:
            for position, index in queue:
                await deliver(position, index)

        # A worker per send slot rather than a task per job: a batch of a thousand costs 64
        # tasks, not a thousand waiting on the same semaphore.
        tasks = [asyncio.ensure_future(worker()) for _ in range(min(CONCURRENCY, len(sendable)))]
        try:
            await asyncio.gather(*tasks)
            if taken:
                log.warning("%d claim(s) were taken over by another instance; not sent", len(taken))
            await self._record(jobs, results, report, quiet, broken, outcomes, taken)
        except Exception:
            for task in tasks:  # nothing of this batch goes on being sent behind our back
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._abandon(jobs)
            raise

    async def _abandon(self, jobs: list[Job]) -> None:
        """A batch that failed half-way (the database went away, say) is not left claimed by
        a live instance, where no recovery would look: what was never handed over is retried,
        what was being handed over is interrupted. Best effort: if this fails too, a restart
        recovers them."""
        d = Delivery.__table__.c  # type: ignore[attr-defined]
        ids = [job.delivery_id for job in jobs]
        try:
            async with self.store.writing() as conn:
                await conn.execute(
                    update(Delivery)
                    .where(d.id.in_(ids), d.status == "handing")
                    .values(status="interrupted", reason="stopped while sending", lease_until=None)
                )
                await conn.execute(
                    update(Delivery)
                    .where(d.id.in_(ids), d.status == "claimed")
                    .values(
                        status="retry",
                        next_attempt_at=self.clock.now(),
                        claimed_by=None,
                        lease_until=None,
                    )
                )
        except Exception as err:
            log.error("could not give back a failed batch: %s", type(err).__name__)

    async def _write(self, handing: list[int], outcomes: list[dict[str, Any]]) -> set[int]:
        """Writes finished outcomes and marks the next rows `handing`; returns those marked,
        which are only the rows still claimed by this instance."""
        async with self.store.writing() as conn:
            await self._recorded.run(conn, outcomes)
            if not handing:
                return set()
            marked = await conn.execute(_HAND, {"ids": handing, "me": self.instance})
            return set(marked.scalars().all())

    async def _move(self, space_id: int, new: Address) -> Address:
        async with self.store.unit() as session:
            space = await session.get(Space, space_id)
            if space is not None:
                await move_space(session, space, new.chat_id)
        log.info("space %s moved to a new chat id", space_id)
        return new

    def _outcome(self, job: Job, result: SendResult) -> dict[str, Any]:
        """The row a send's result leaves: sent, retry (with its backoff) or failed."""
        now = self.clock.now()
        row: dict[str, Any] = {
            "did": job.delivery_id,
            "status": "sent",
            "attempts": job.attempts + 1,
            "next_attempt_at": None,
            "message_ref": result.message_id,
            "sent_at": None,
            "reason": result.reason or None,
            # Parts of a split message that arrived stay counted across retries.
            "parts_sent": max(job.parts_sent, result.parts_sent),
        }
        if result.status is SendStatus.DELIVERED:
            row["sent_at"] = now
        elif result.status is SendStatus.RETRY:
            # Retried until the grace window has passed; the retry claim then records it missed.
            row["status"] = "retry"
            wait = backoff(job.attempts + 1)
            if result.retry_after:
                wait = max(wait, timedelta(seconds=result.retry_after))
            row["next_attempt_at"] = now + wait
        else:
            row["status"] = "failed"
        return row

    async def _record(
        self,
        jobs: list[Job],
        results: dict[int, SendResult],
        report: DispatchReport,
        quiet: set[int],
        broken: dict[int, str],
        unwritten: dict[int, dict[str, Any]],
        taken: set[int],
    ) -> None:
        """Counts every job's outcome, writes those not written yet, and acts on chats that
        are gone; rows another instance took over are theirs to record."""
        updates: list[dict[str, Any]] = []
        gone: set[int] = set()
        blocked: set[int] = set()  # partners who blocked Tandem in their private chat
        for index, job in enumerate(jobs):
            if index in taken:
                continue
            if index in quiet or index in broken:
                # Nothing to say after all (a quiet week, a promise settled since it was
                # claimed), or a job that could not be put together: recorded, never sent.
                updates.append(
                    {
                        "did": job.delivery_id,
                        "status": "skipped" if index in quiet else "failed",
                        "attempts": job.attempts,
                        "next_attempt_at": None,
                        "message_ref": None,
                        "sent_at": None,
                        "reason": broken.get(index, "nothing to send"),
                        "parts_sent": job.parts_sent,
                    }
                )
                report.failed += index in broken
                continue
            result = results[index]
            if result.status is SendStatus.DELIVERED:
                report.sent += 1
            elif result.status is SendStatus.RETRY:
                report.retrying += 1
            else:
                report.failed += 1
                if result.status is SendStatus.GONE:
                    (blocked if job.recipient else gone).add(job.recipient or job.space_id)
            if index in unwritten:
                updates.append(unwritten[index])
        async with self.store.writing() as conn:
            await self._recorded.run(conn, updates)
            if blocked:
                # The space goes on; that partner answers in the shared chat until they /pair again.
                member_id = Member.__table__.c.id  # type: ignore[attr-defined]
                await conn.execute(
                    update(Member).where(member_id.in_(blocked)).values(private_chat=None)
                )
            if gone:
                await conn.execute(
                    update(Space)
                    .where(Space.__table__.c.id.in_(gone))  # type: ignore[attr-defined]
                    .values(active=False, deactivated_at=self.clock.now())
                )
                report.deactivated += len(gone)
                log.info(
                    "deactivated %d space(s): the chat is gone or the bot was removed", len(gone)
                )
