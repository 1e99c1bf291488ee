"""a promise kept in part may be carried on to a new day: the id of the promise it became

"Partly" settles a promise as partly kept (counted apart from kept ones in the weekly look
back) and offers to carry it on to a new day; `carried_to` names the fresh promise it was
carried on to, so the choice is made once. No foreign key: a settled promise is erased on its
own schedule (retention), whichever of the two goes first.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-04 13:40:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: Union[str, Sequence[str], None] = "0019"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("promise", sa.Column("carried_to", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("promise", "carried_to")
