"""an answer keeps the /reveal rule it was given under

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:40:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Answers given before this knew no rule of their own: they take the space's rule now, the
    # one their authors last saw; from here on a later, looser /reveal cannot reach back.
    with op.batch_alter_table("checkinanswer") as batch:
        batch.add_column(
            sa.Column("reveal", sa.String(length=16), nullable=False, server_default="together")
        )
    op.execute(
        "UPDATE checkinanswer SET reveal = "
        "(SELECT space.reveal FROM space WHERE space.id = checkinanswer.space_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("checkinanswer") as batch:
        batch.drop_column("reveal")
