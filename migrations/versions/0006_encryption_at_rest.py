"""encryption at rest: the data key's proof row, and room for ciphertext in notes and promises

Notes and promises already stored stay readable as they are; the first start after this
upgrade, which has the key, encrypts them (bot/datakey.py open_store). The migration itself
never sees the key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:40:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

text = sqlmodel.sql.sqltypes.AutoString
when = sqlmodel.sql.sqltypes.UTCDateTime
# A sealed 1000-character note is longer than 1000 characters: the columns become TEXT.
WIDENED = (("checkinanswer", "note", True), ("promise", "body", False))


def _retype(table: str, column: str, nullable: bool, type_: sa.types.TypeEngine) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(table, column, type_=type_, existing_nullable=nullable)
        return
    # SQLite can't change a column's type in place, and batch mode's copy-and-drop would fire
    # ON DELETE actions of the tables that point here (delivery -> promise cascades). So: a new
    # column, a copy, then drop and rename, all in place.
    spare = f"{column}_widened"
    declared = type_.compile(dialect=op.get_bind().dialect)
    default = "" if nullable else " DEFAULT ''"
    op.execute(
        f"ALTER TABLE {table} ADD COLUMN {spare} {declared}{'' if nullable else ' NOT NULL'}{default}"
    )
    op.execute(f"UPDATE {table} SET {spare} = {column}")
    op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN {spare} TO {column}")


def upgrade() -> None:
    op.create_table(
        "datakey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proof", text(length=200), nullable=False),
        sa.Column("sealed_at", when(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for table, column, nullable in WIDENED:
        _retype(table, column, nullable, sa.Text())


def downgrade() -> None:
    # Going back is only safe once notes are decrypted again; the columns keep TEXT's room.
    op.drop_table("datakey")
