"""a delivery remembers the path's step its message showed, for /export

On a guided path the day's step replaces the rotation's prompt as the message is put together,
and a sided partner's own step rides in their check-in; the row kept only the rotation's prompt
(`content_id`), so /export listed prompts nobody was sent. `step` names the step shown (its id
in content/paths, or "quiet" on a rest day). Rows from before stay NULL: their text is the
content's, as before.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-09 12:00:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0024"
down_revision: Union[str, Sequence[str], None] = "0023"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # A plain column added in place: the largest table is not rebuilt.
    op.add_column(
        "delivery", sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
    )


def downgrade() -> None:
    # SQLite drops a plain column in place (no index or constraint names it).
    op.drop_column("delivery", "step")
