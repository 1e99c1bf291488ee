"""the hurt partner's private answer: how much the hurt intruded on a day

`checkinanswer.hurt` holds the 1 to 5 a partner who chose "I'm learning to trust again" taps
after their own check-in. It is sealed at rest with their own key from the first value (no value
exists before this migration), and never shown to the other partner.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 13:50:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: Union[str, Sequence[str], None] = "0021"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("checkinanswer", sa.Column("hurt", sa.Text(), nullable=True))


def downgrade() -> None:
    # SQLite drops a plain column in place (no index or constraint names it).
    op.drop_column("checkinanswer", "hurt")
