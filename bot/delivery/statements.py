"""The engine's hot statements: a claim's insert, the hand-over mark, an advance, a record."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, null, update
from sqlalchemy.engine import Dialect

from bot.store import ContentHistory, Delivery, Plain, Schedule, Space, upsert_insert

# The columns a claim's RETURNING gives back.
RETURNED = (
    "id",
    "schedule_id",
    "status",
    "kind",
    "local_date",
    "content_id",
    "space_id",
    "recipient",
    "variant",
    "due_at",
)


class Written(NamedTuple):
    """A claim row as RETURNING gives it back (the names of `RETURNED`)."""

    id: int
    schedule_id: int | None
    status: str
    kind: str
    local_date: date
    content_id: str | None
    space_id: int
    recipient: int
    variant: str | None
    due_at: datetime


# The next rows go out: marked `handing`, those still claimed by this instance.
HAND = (
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
ADVANCE = (
    update(Schedule)
    .where(Schedule.__table__.c.id == bindparam("sid"))  # type: ignore[attr-defined]
    .values(next_due_at=bindparam("next"))
)
# Where a space's prompt rotation stands after a claim picked its prompt.
ROTATION = (
    update(Space)
    .where(Space.__table__.c.id == bindparam("spid"))  # type: ignore[attr-defined]
    .values(last_topic=bindparam("lt"), content_cycle=bindparam("cy"))
)
# The columns of a prompt shown (content history).
HISTORY_COLUMNS = ("space_id", "member_id", "prompt_id", "cycle", "shown_at")
# The columns a schedule's claim writes (`planner.schedule_row`), and the id SQLite's claim gives.
CLAIM_COLUMNS = (
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


# Records a send's outcome; its lease ends with it.
RECORD = (
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


class HotWrites:
    """The writes run for every row, compiled once for a database and run without SQLAlchemy's
    per-row parameter processing (see Plain)."""

    def __init__(self, dialect: Dialect) -> None:
        self.recorded = Plain(RECORD, dialect)
        self.advanced = Plain(ADVANCE, dialect)
        self.rotated = Plain(ROTATION, dialect)
        self.shown = Plain(insert(ContentHistory), dialect, HISTORY_COLUMNS)
        self.claimed = Plain(claim_insert(dialect.name), dialect, CLAIM_COLUMNS)
