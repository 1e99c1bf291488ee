"""claims that carry their instance and a lease, and a heartbeat table, so several instances
share one database and recover only what a stopped instance left behind

Revision ID: 0008
Revises: 0005 (the lead re-chains this at merge)
Create Date: 2026-12-02 01:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

text = sqlmodel.sql.sqltypes.AutoString
when = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "instance",
        sa.Column("id", text(length=36), nullable=False),
        sa.Column("started_at", when(), nullable=False),
        sa.Column("beat_at", when(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("instance") as batch:
        batch.create_index(batch.f("ix_instance_beat_at"), ["beat_at"], unique=False)
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("claimed_by", text(length=36), nullable=True))
        batch.add_column(sa.Column("lease_until", when(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
    with op.batch_alter_table("instance") as batch:
        batch.drop_index(batch.f("ix_instance_beat_at"))
    op.drop_table("instance")
