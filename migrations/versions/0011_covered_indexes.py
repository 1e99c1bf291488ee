"""drop the foreign-key indexes a unique key or index starting with the same column covers

Each was written on every insert and never needed: the composite key serves the cascades and the
lookups by that column. On SQLite a delivery row carried eight indexes; the million-space
benchmark's claim, hand-over and record spend most of their database time keeping them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 04:00:00

"""

from typing import Sequence, Union

from alembic import op

revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# (table, column): the index alembic named ix_<table>_<column>, and the key that covers it.
COVERED = (
    ("member", "space_id"),  # uq_member_user (space_id, user_id)
    ("schedule", "space_id"),  # uq_schedule_kind (space_id, kind)
    ("delivery", "space_id"),  # ix_delivery_message (space_id, message_ref)
    ("delivery", "schedule_id"),  # uq_delivery_key (schedule_id, local_date, recipient, kind)
    ("delivery", "promise_id"),  # uq_delivery_promise (promise_id, local_date)
    ("checkinanswer", "space_id"),  # uq_answer_day (space_id, member_id, local_date)
    ("contenthistory", "space_id"),  # uq_history_prompt (space_id, member_id, prompt_id, cycle)
    ("once", "space_id"),  # uq_once_key (space_id, key)
)


def upgrade() -> None:
    for table, column in COVERED:
        op.drop_index(f"ix_{table}_{column}", table_name=table)


def downgrade() -> None:
    for table, column in COVERED:
        op.create_index(f"ix_{table}_{column}", table, [column])
