"""seal what a partner tapped (score or "Skip today") and how a promise went

What stays plain is what the scheduler and the streak need: `took_part` (a score or a skip was
given) and a promise's `status` (open | closed). The tapped value moves to `checkinanswer.tap`
and the outcome (done | partly | let_go) to `promise.outcome`, both sealed at rest by the first
start after this upgrade, which has the key (bot/datakey.py SEALED_SINCE); until then they read
as they are. The migration itself never sees the key. `score` and `skipped` are dropped.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 11:40:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: Union[str, Sequence[str], None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("checkinanswer", sa.Column("tap", sa.Text(), nullable=True))
    op.add_column(
        "checkinanswer",
        sa.Column("took_part", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        "UPDATE checkinanswer SET "
        "tap = CASE WHEN skipped THEN 'skip' WHEN score IS NOT NULL THEN CAST(score AS TEXT) END, "
        "took_part = (skipped OR score IS NOT NULL)"
    )
    # SQLite drops a plain column in place (no index or constraint names these two).
    op.drop_column("checkinanswer", "score")
    op.drop_column("checkinanswer", "skipped")
    op.add_column("promise", sa.Column("outcome", sa.Text(), nullable=True))
    op.execute(
        "UPDATE promise SET outcome = CASE WHEN status <> 'open' THEN status END, "
        "status = CASE WHEN status = 'open' THEN 'open' ELSE 'closed' END"
    )


def downgrade() -> None:
    # Going back is only safe once taps and outcomes are unsealed again.
    pass
