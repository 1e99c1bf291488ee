"""guided paths over weeks: where each space is on its path, its pace, and a crisis rest

`pathstate` holds one row a space that chose a path (none: Free practice, today's topic
rotation): the path, the week and the local day it started, the pace, the days of the week
both partners took part in, and a rest from couple exercises after crisis help was given.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 14:00:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: Union[str, Sequence[str], None] = "0015"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "pathstate",
        sa.Column(
            "space_id", sa.Integer(), sa.ForeignKey("space.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("week_started", sa.Date(), nullable=True),
        sa.Column("pace", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("days_taken_part", sa.Integer(), nullable=False),
        sa.Column("chosen_by", sa.Integer(), nullable=True),
        sa.Column("chosen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("rest_from", sa.Date(), nullable=True),
        sa.Column("rest_until", sa.Date(), nullable=True),
        sa.Column("rest_member", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("space_id"),
    )


def downgrade() -> None:
    op.drop_table("pathstate")
