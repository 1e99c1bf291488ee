"""words typed in a private chat, sealed, waiting for the choice to keep them as a note

`noteoffer` holds what a partner typed to Tandem in their private chat until they tap Keep
private, Share at the reveal or Don't keep (bot/talk/offer.py); the words are sealed with the
member's own key, like notes. Don't keep deletes the row.

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-04 13:50:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019"
down_revision: Union[str, Sequence[str], None] = "0017"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "noteoffer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "space_id", sa.Integer(), sa.ForeignKey("space.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "member_id",
            sa.Integer(),
            sa.ForeignKey("member.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_noteoffer_member_id", "noteoffer", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_noteoffer_member_id", table_name="noteoffer")
    op.drop_table("noteoffer")
