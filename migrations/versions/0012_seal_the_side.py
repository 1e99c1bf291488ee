"""seal the side chosen with /perspective: it says who broke trust, so it is sealed like a note

The column becomes TEXT (a sealed value is longer than 16 characters). Sides already stored are
sealed by the first start after this upgrade, which has the key (bot/datakey.py SEALED_SINCE);
until then they read as they are. The migration itself never sees the key.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 09:20:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: Union[str, Sequence[str], None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("member", "side", type_=sa.Text(), existing_nullable=True)
        return
    # SQLite can't change a column's type in place, and batch mode's copy-and-drop would fire
    # the ON DELETE actions of the tables that point at members: a new column, a copy, then drop
    # and rename, all in place (as 0006 did for notes).
    op.execute("ALTER TABLE member ADD COLUMN side_sealed TEXT")
    op.execute("UPDATE member SET side_sealed = side")
    op.execute("ALTER TABLE member DROP COLUMN side")
    op.execute("ALTER TABLE member RENAME COLUMN side_sealed TO side")


def downgrade() -> None:
    # Going back is only safe once sides are unsealed again; the column keeps TEXT's room.
    pass
