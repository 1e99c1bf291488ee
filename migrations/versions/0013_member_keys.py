"""each member's own data key (crypto-shredding), and sealed values bound to their place

`sealkey` holds one data key per member, wrapped by the master key; it goes with its member
(ON DELETE CASCADE, deferred so a member and their key can be written in one transaction).
Values sealed before with the master key ("tk1:") are resealed with their member's key, bound to
their row, by the first start after this upgrade, which has the key (bot/datakey.py
SEALED_SINCE); until then they read as they are. The migration itself never sees the key.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 10:50:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: Union[str, Sequence[str], None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "sealkey",
        sa.Column(
            "member_id",
            sa.Integer(),
            sa.ForeignKey("member.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column(
            "space_id",
            sa.Integer(),
            sa.ForeignKey("space.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sealkey_space_id", "sealkey", ["space_id"])


def downgrade() -> None:
    op.drop_index("ix_sealkey_space_id", table_name="sealkey")
    op.drop_table("sealkey")
