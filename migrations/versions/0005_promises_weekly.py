"""promises and the weekly look back: the promise table, a follow-up key on deliveries, and a
Sunday 19:00 look back for every space that has partners

Revision ID: 0005
Revises: 0002 (the lead re-chains this after 0003 and 0004 at merge)
Create Date: 2026-12-01 12:00:00

"""
import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

text = sqlmodel.sql.sqltypes.AutoString
when = sqlmodel.sql.sqltypes.UTCDateTime
SUNDAY = 6
LOOK_BACK = time(19, 0)


def _zone(name: str) -> tzinfo:
    # The two forms a space stores: an IANA name, or "UTC+05:30" (as bot.timeparse writes it).
    if match := re.fullmatch(r"UTC([+-])(\d{2}):(\d{2})", name):
        delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
        return timezone(-delta if match[1] == "-" else delta, name)
    return zoneinfo.ZoneInfo(name)


def _next_sunday_evening(zone: str, now: datetime) -> datetime:
    tz = _zone(zone)
    day: date = now.astimezone(tz).date()
    while True:
        if day.weekday() == SUNDAY:
            due = datetime.combine(day, LOOK_BACK, tzinfo=tz).astimezone(UTC)
            if due > now:
                return due
        day += timedelta(days=1)


def upgrade() -> None:
    op.create_table(
        "promise",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("body", text(length=1000), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("made_at", when(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", text(length=8), nullable=False),
        sa.Column("next_ask_at", when(), nullable=True),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("closed_at", when(), nullable=True),
        sa.ForeignKeyConstraint(["space_id"], ["space.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("promise") as batch:
        batch.create_index("ix_promise_ask", ["next_ask_at"], unique=False)
        batch.create_index(batch.f("ix_promise_space_id"), ["space_id"], unique=False)
        batch.create_index(batch.f("ix_promise_member_id"), ["member_id"], unique=False)
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("promise_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_delivery_promise_id"), ["promise_id"], unique=False)
        batch.create_foreign_key(
            "fk_delivery_promise_id_promise", "promise", ["promise_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_unique_constraint("uq_delivery_promise", ["promise_id", "local_date"])
    # Spaces that already have partners get the look back on Sundays at 19:00, their time.
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, timezone FROM space WHERE active = :yes AND EXISTS "
            "(SELECT 1 FROM member WHERE member.space_id = space.id AND member.partner = :yes) "
            "AND NOT EXISTS (SELECT 1 FROM schedule WHERE schedule.space_id = space.id "
            "AND schedule.kind = 'weekly')"
        ),
        {"yes": True},
    ).all()
    now = datetime.now(UTC)
    schedule = sa.table(
        "schedule",
        sa.column("space_id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("local_time", sa.String()),
        sa.column("weekdays", sa.String()),
        sa.column("paused_until", when()),
        sa.column("next_due_at", when()),
    )
    if rows:
        op.bulk_insert(
            schedule,
            [
                {
                    "space_id": space_id,
                    "kind": "weekly",
                    "local_time": "19:00",
                    "weekdays": "sun",
                    "paused_until": None,
                    "next_due_at": _next_sunday_evening(zone, now),
                }
                for space_id, zone in rows
            ],
        )


def downgrade() -> None:
    op.execute("DELETE FROM delivery WHERE kind IN ('weekly', 'promise')")
    op.execute("DELETE FROM schedule WHERE kind = 'weekly'")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_constraint("uq_delivery_promise", type_="unique")
        batch.drop_constraint("fk_delivery_promise_id_promise", type_="foreignkey")
        batch.drop_index(batch.f("ix_delivery_promise_id"))
        batch.drop_column("promise_id")
    with op.batch_alter_table("promise") as batch:
        batch.drop_index(batch.f("ix_promise_member_id"))
        batch.drop_index(batch.f("ix_promise_space_id"))
        batch.drop_index("ix_promise_ask")
    op.drop_table("promise")
