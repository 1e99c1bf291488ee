"""two voices: partners, private chats, sides, pairing codes, private answers and the reveal

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

text = sqlmodel.sql.sqltypes.AutoString
when = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("space") as batch:
        batch.add_column(sa.Column("direct", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("reveal", text(length=16), nullable=False, server_default="together"))
        batch.add_column(sa.Column("question_id", text(length=40), nullable=False, server_default="checkin-01"))
        batch.add_column(sa.Column("apart", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("partner", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("private_chat", text(length=64), nullable=True))
        batch.add_column(sa.Column("side", text(length=16), nullable=True))
        batch.add_column(sa.Column("side_cycle", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index(batch.f("ix_member_private_chat"), ["private_chat"], unique=False)
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("recipient", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("variant", text(length=8), nullable=True))
        batch.drop_constraint("uq_delivery_key", type_="unique")
        batch.create_unique_constraint(
            "uq_delivery_key", ["schedule_id", "local_date", "recipient", "kind"]
        )
    with op.batch_alter_table("checkinanswer") as batch:
        batch.add_column(sa.Column("skipped", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("share_note", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("contenthistory") as batch:
        batch.add_column(sa.Column("member_id", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_history_prompt", type_="unique")
        batch.create_unique_constraint("uq_history_prompt", ["space_id", "member_id", "prompt_id", "cycle"])
    op.create_table(
        "paircode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", text(length=64), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("kind", text(length=8), nullable=False),
        sa.Column("inviter_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", when(), nullable=False),
        sa.ForeignKeyConstraint(["space_id"], ["space.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    with op.batch_alter_table("paircode") as batch:
        batch.create_index(batch.f("ix_paircode_space_id"), ["space_id"], unique=False)
    op.create_table(
        "once",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("key", text(length=64), nullable=False),
        sa.Column("at", when(), nullable=False),
        sa.ForeignKeyConstraint(["space_id"], ["space.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("space_id", "key", name="uq_once_key"),
    )
    with op.batch_alter_table("once") as batch:
        batch.create_index(batch.f("ix_once_space_id"), ["space_id"], unique=False)
    # Existing spaces keep working: whoever was a member (ran /start or answered) is a partner,
    # and answers given so far were given in the shared chat, so their notes were already shared.
    op.execute("UPDATE member SET partner = true")
    op.execute("UPDATE checkinanswer SET share_note = true WHERE note IS NOT NULL")
    # So far scores were shown as they came: a day two people scored counts as revealed.
    op.execute(
        "INSERT INTO once (space_id, key, at) "
        "SELECT space_id, 'reveal:' || CAST(local_date AS VARCHAR(10)), CURRENT_TIMESTAMP "
        "FROM checkinanswer WHERE score IS NOT NULL GROUP BY space_id, local_date "
        "HAVING COUNT(*) >= 2"
    )
    # A Telegram private chat's id is its person's id, and positive; groups' ids are negative.
    op.execute(
        "UPDATE space SET direct = true WHERE platform = 'telegram' AND chat_id NOT LIKE '-%' "
        "AND chat_id NOT LIKE '@%'"
    )
    op.execute(
        "UPDATE member SET private_chat = user_id WHERE space_id IN "
        "(SELECT id FROM space WHERE direct = true AND platform = 'telegram') "
        "AND user_id = (SELECT chat_id FROM space WHERE space.id = member.space_id)"
    )


def downgrade() -> None:
    op.drop_table("once")
    op.drop_table("paircode")
    with op.batch_alter_table("contenthistory") as batch:
        batch.drop_constraint("uq_history_prompt", type_="unique")
        batch.create_unique_constraint("uq_history_prompt", ["space_id", "prompt_id", "cycle"])
        batch.drop_column("member_id")
    with op.batch_alter_table("checkinanswer") as batch:
        batch.drop_column("share_note")
        batch.drop_column("skipped")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_constraint("uq_delivery_key", type_="unique")
        batch.create_unique_constraint("uq_delivery_key", ["schedule_id", "local_date"])
        batch.drop_column("variant")
        batch.drop_column("recipient")
    with op.batch_alter_table("member") as batch:
        batch.drop_index(batch.f("ix_member_private_chat"))
        batch.drop_column("side_cycle")
        batch.drop_column("side")
        batch.drop_column("private_chat")
        batch.drop_column("partner")
    with op.batch_alter_table("space") as batch:
        batch.drop_column("apart")
        batch.drop_column("question_id")
        batch.drop_column("reveal")
        batch.drop_column("direct")
