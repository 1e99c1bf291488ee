"""today's question, answered in words: one row per member per local day, the words sealed

`questionanswer` holds each partner's words for the day's question (sealed with the member's own
key, like notes), or that they passed; the day's question itself is kept in `once` ("ask:<day>:
<question id>"), so that both partners get the same one and none is asked twice in a space.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 11:30:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: Union[str, Sequence[str], None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "questionanswer",
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
        sa.Column("question_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("reveal", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("asked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("space_id", "member_id", "local_date", name="uq_qa_day"),
    )
    op.create_index("ix_questionanswer_member_id", "questionanswer", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_questionanswer_member_id", table_name="questionanswer")
    op.drop_table("questionanswer")
