"""retention: when a space was deactivated, and the daily housekeeping pass's claim

Revision ID: 0007
Revises: 0005 (the lead re-chains this at merge)
Create Date: 2026-12-02 01:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

when = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    # Spaces already inactive get their "inactive since" at the first housekeeping pass (on the
    # bot's own clock), so none is erased sooner than INACTIVE_RETENTION_DAYS after the upgrade.
    with op.batch_alter_table("space") as batch:
        batch.add_column(sa.Column("deactivated_at", when(), nullable=True))
    op.create_table(
        "housekeeping",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", when(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("housekeeping")
    with op.batch_alter_table("space") as batch:
        batch.drop_column("deactivated_at")
