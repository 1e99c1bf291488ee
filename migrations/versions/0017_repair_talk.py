"""/repair, a talk after a hard moment: one talk a space at a time, and each partner's part

`repairtalk` is one talk (open, revealed, done or declined, and when it was last touched: one
left unfinished expires quietly). `repairpart` is each partner's side of it: where they are, and
their words (what they felt, needed, their own part, one thing to do differently), each sealed
with the member's own key like notes. Both go with their space, and a part with its member.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 13:40:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: Union[str, Sequence[str], None] = "0016"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "repairtalk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "space_id", sa.Integer(), sa.ForeignKey("space.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_repairtalk_space_id", "repairtalk", ["space_id"])
    op.create_table(
        "repairpart",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "talk_id",
            sa.Integer(),
            sa.ForeignKey("repairtalk.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "space_id", sa.Integer(), sa.ForeignKey("space.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "member_id",
            sa.Integer(),
            sa.ForeignKey("member.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("felt", sa.Text(), nullable=True),
        sa.Column("needed", sa.Text(), nullable=True),
        sa.Column("own_part", sa.Text(), nullable=True),
        sa.Column("differently", sa.Text(), nullable=True),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("reveal", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("asked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("talk_id", "member_id", name="uq_repair_part"),
    )
    op.create_index("ix_repairpart_space_id", "repairpart", ["space_id"])
    op.create_index("ix_repairpart_member_id", "repairpart", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_repairpart_member_id", table_name="repairpart")
    op.drop_index("ix_repairpart_space_id", table_name="repairpart")
    op.drop_table("repairpart")
    op.drop_index("ix_repairtalk_space_id", table_name="repairtalk")
    op.drop_table("repairtalk")
