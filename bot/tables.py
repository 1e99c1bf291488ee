"""The tables: one SQLModel class per table (their columns, keys and what is sealed)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from bot.crypto import Sealed
from bot.sealing import install


def _fk(
    target: str, *, nullable: bool = False, ondelete: str = "CASCADE", index: bool = True
) -> Any:
    """A foreign key column. `index=False` where a unique key or index of the table starts with
    this column: it serves the cascades and lookups, and one index fewer is one write fewer on
    every insert (a delivery row is written a million times on a big evening)."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(
            Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
        ),
    )


class Space(SQLModel, table=True):
    """One chat: a Telegram group or DM, a Discord channel or DM, or the console."""

    __table_args__ = (UniqueConstraint("platform", "chat_id", name="uq_space_address"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    timezone: str = Field(max_length=64)
    topics: str = Field(max_length=400)  # comma-separated topic keys
    active: bool = True
    last_topic: str | None = Field(default=None, max_length=40)
    content_cycle: int = 0
    created_at: datetime
    # The chat is one partner's private chat with Tandem (no group): shared things go to every
    # partner's private chat instead.
    direct: bool = False
    reveal: str = Field(default="together", max_length=16)  # together | never | instant
    question_id: str = Field(default="checkin-01", max_length=40)  # the scored question
    apart: bool = False  # the couple lives apart: prompts that need one home are skipped
    # When the bot was removed (active turned off); the space is erased once this is older than
    # INACTIVE_RETENTION_DAYS. None while active.
    deactivated_at: datetime | None = None


class Member(SQLModel, table=True):
    """A person in a space, as the platform names them."""

    __table_args__ = (UniqueConstraint("space_id", "user_id", name="uq_member_user"),)
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # uq_member_user
    user_id: str = Field(max_length=64)
    display_name: str = Field(max_length=128)
    joined_at: datetime
    partner: bool = False  # ran /start here, or joined through a pairing link
    # This person's own chat with Tandem, on the space's platform; one private chat, one space.
    private_chat: str | None = Field(default=None, max_length=64, index=True)
    # doubting | doubted: it says who broke trust, so it is sealed like a note; never shown.
    side: str | None = Field(
        default=None, sa_column=Column(Sealed("member", "side", "side", "id"), nullable=True)
    )
    side_cycle: int = 0  # the round of this partner's side prompts


class Schedule(SQLModel, table=True):
    """A daily prompt or check-in time of a space, and when it is next due."""

    __table_args__ = (
        UniqueConstraint("space_id", "kind", name="uq_schedule_kind"),
        Index("ix_schedule_due", "next_due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # uq_schedule_kind
    kind: str = Field(max_length=16)  # "prompt" | "checkin" | "weekly"
    local_time: str = Field(max_length=5)  # "HH:MM" in the space's timezone
    weekdays: str = Field(max_length=40)  # "mon,tue,..." as CronTrigger reads it
    paused_until: datetime | None = None
    next_due_at: datetime | None = None


class Delivery(SQLModel, table=True):
    """One thing sent (or due to be sent) to a space; (schedule, local date) is unique."""

    __table_args__ = (
        UniqueConstraint("schedule_id", "local_date", "recipient", "kind", name="uq_delivery_key"),
        # A promise's follow-up has no schedule: its own key makes it once a local day at most.
        UniqueConstraint("promise_id", "local_date", name="uq_delivery_promise"),
        Index("ix_delivery_retry", "status", "next_attempt_at"),
        Index("ix_delivery_message", "space_id", "message_ref"),
    )
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # ix_delivery_message
    schedule_id: int | None = _fk(  # uq_delivery_key
        "schedule.id", nullable=True, ondelete="SET NULL", index=False
    )
    # "prompt" | "side" (a side's prompt) | "checkin" | "weekly" (the look back) | "promise"
    kind: str = Field(max_length=16)
    # 0: the space's own chat; else the member whose private chat this goes to.
    recipient: int = 0
    # How a shared check-in looks: "full" (everyone answers here), "line" (answers are in the
    # private chats) or "mixed" (a line, plus buttons for partners without a private chat).
    variant: str | None = Field(default=None, max_length=8)
    local_date: date
    due_at: datetime
    # claimed (by an instance, not yet handed over) | handing (given to the platform, outcome
    # not yet recorded) | sent | retry | failed | skipped | missed | interrupted
    status: str = Field(max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    content_id: str | None = Field(default=None, max_length=40)
    # On a guided path, what its message showed beside or instead of `content_id`: the path's
    # step (its id in content/paths) in a prompt's place, or "quiet" on a rest day; a sided
    # partner's own step, on their check-in. Written as the message is put together, so
    # /export lists what was sent, not the rotation's prompt it stood in for.
    step: str | None = Field(default=None, max_length=40)
    message_ref: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = None
    reason: str | None = Field(default=None, max_length=80)
    # The follow-up of this promise (indexed by uq_delivery_promise).
    promise_id: int | None = _fk("promise.id", nullable=True, index=False)
    # How many parts of a split message arrived before a failed send; a retry starts after them.
    parts_sent: int = 0
    # The instance that claimed this row, and until when its claim holds (see Instance).
    claimed_by: str | None = Field(default=None, max_length=36)
    lease_until: datetime | None = None


class Instance(SQLModel, table=True):
    """A running Tandem process; it beats while alive, so others know whose claims are stale."""

    id: str = Field(primary_key=True, max_length=36)  # a uuid4 per process
    started_at: datetime
    beat_at: datetime = Field(index=True)


class CheckinAnswer(SQLModel, table=True):
    """A member's answer to a check-in: one per member per local day; a second tap changes it."""

    __table_args__ = (
        UniqueConstraint("space_id", "member_id", "local_date", name="uq_answer_day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # uq_answer_day
    member_id: int = _fk("member.id")
    delivery_id: int | None = _fk("delivery.id", nullable=True, ondelete="SET NULL")
    local_date: date
    # Whether this partner took part (a score, or "Skip today"): plain, as the reveal and the
    # count of days both showed up need it. What they tapped is theirs, sealed: read it through bot/checkins/answers.py
    # score_of and skipped.
    took_part: bool = False
    tap: str | None = Field(
        default=None, sa_column=Column(Sealed("checkinanswer", "tap", "tap"), nullable=True)
    )
    # At most 1000 characters typed; encrypted at rest (bot/crypto.py), so the column is Text.
    note: str | None = Field(
        default=None, sa_column=Column(Sealed("checkinanswer", "note", "note"), nullable=True)
    )
    share_note: bool = False  # the author chose to show the note at the reveal
    # The hurt partner's private answer (1 barely to 5 most of the day: how much the hurt
    # intruded), sealed; never shown to the other partner: read it only through
    # bot/checkins/hurt.py, which gives it to its author alone.
    hurt: str | None = Field(
        default=None, sa_column=Column(Sealed("checkinanswer", "hurt", "hurt"), nullable=True)
    )
    # The /reveal rule in force when this answer was first given. A later /reveal that shows more
    # never reaches back to it; one that shows less (never) hides it at once.
    reveal: str = Field(default="together", max_length=16)
    answered_at: datetime
    updated_at: datetime


class PromiseStatus(StrEnum):
    """A promise is open (asked about when due) or closed; how it went is its sealed outcome."""

    OPEN = "open"
    CLOSED = "closed"
    # outcomes
    DONE = "done"
    PARTLY = "partly"
    LET_GO = "let_go"


class Promise(SQLModel, table=True):
    """A small commitment one partner made, asked about on its due day; shared or theirs alone.

    Its words are read and written through `promise_text` and `set_promise_text`; the column
    type encrypts them at rest, as it does notes (bot/crypto.py).
    """

    __table_args__ = (Index("ix_promise_ask", "next_ask_at"),)
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id")
    member_id: int = _fk("member.id")
    # At most 200 characters typed; encrypted at rest (bot/crypto.py), so the column is Text.
    body: str = Field(sa_column=Column(Sealed("promise", "body", "promise"), nullable=False))
    shared: bool = False  # the partner sees it: made in the shared space, or "Shared" tapped
    made_at: datetime
    due_date: date  # a local date in the space's timezone
    status: str = Field(default=PromiseStatus.OPEN, max_length=8)  # open | closed
    # done | partly | let_go once closed: how it went is its author's, sealed like the words.
    outcome: str | None = Field(
        default=None, sa_column=Column(Sealed("promise", "outcome", "outcome"), nullable=True)
    )
    next_ask_at: datetime | None = None  # when the follow-up is next due; None: not asked again
    asks: int = 0  # follow-ups claimed so far
    closed_at: datetime | None = None
    # "Partly", then carried on to a new day: the fresh promise's id (the choice is made once).
    carried_to: int | None = None


class NoteOffer(SQLModel, table=True):
    """Words a partner typed in their private chat, sealed, waiting for their choice: keep them
    as the day's note (private, or shared at the reveal), or not at all (the row goes, scrubbed).
    Erased by the daily housekeeping once a day old, unchosen."""

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # erased with the space, never looked up by it
    member_id: int = _fk("member.id")
    local_date: date  # the day the words were typed: the note is that day's
    text: str = Field(sa_column=Column(Sealed("noteoffer", "text", "offer"), nullable=False))
    created_at: datetime


class QuestionAnswer(SQLModel, table=True):
    """A partner's words for today's question (bot/questions/): one per member per local day."""

    __table_args__ = (UniqueConstraint("space_id", "member_id", "local_date", name="uq_qa_day"),)
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # uq_qa_day
    member_id: int = _fk("member.id")
    local_date: date
    question_id: str = Field(max_length=16)
    text: str | None = Field(  # at most 1000 characters, sealed at rest like notes
        default=None, sa_column=Column(Sealed("questionanswer", "text", "question"), nullable=True)
    )
    passed: bool = False  # "Pass on this one": taking part without words
    held: bool = False  # crisis words: kept with their author at the reveal
    reveal: str = Field(default="together", max_length=16)  # the /reveal rule when first given
    asked_at: datetime | None = None  # "Answer" tapped: the next reply brings the words
    answered_at: datetime
    updated_at: datetime


class PathState(SQLModel, table=True):
    """Where a space is on a guided path (bot/paths/): one row a space; none is Free practice."""

    space_id: int = Field(
        sa_column=Column(Integer, ForeignKey("space.id", ondelete="CASCADE"), primary_key=True)
    )
    path: str = Field(default="free", max_length=16)  # breach | worry | strong | free
    week: int = 1  # from 1; past the last week of a path that ends: the path is walked
    week_started: date | None = None  # the local day of the week's first step; None: not yet
    pace: str = Field(default="normal", max_length=8)  # normal | slower
    days_taken_part: int = 0  # days of this week both took part in, as last counted
    chosen_by: int | None = None  # the member who chose the path
    chosen_at: datetime
    rest_from: date | None = None  # crisis help was given: no couple exercises until rest_until
    rest_until: date | None = None
    rest_member: int | None = None  # who wrote the words: only they lift the rest early


# The /repair talk (bot/repair/): one a space at a time, and each partner's part of it.

# A part's words, in the order they are written: each a sealed column of `repairpart`.
REPAIR_STEPS = ("felt", "needed", "own_part", "differently")


class TalkStatus:
    OPEN = "open"  # the three answers are being written
    REVEALED = "revealed"  # shown together; each is choosing one thing to do differently
    DONE = "done"  # both chose, and the choices were shown together
    DECLINED = "declined"  # a partner said "Not now": ended, and nothing was shared


class PartState:
    INVITED = "invited"
    WRITING = "writing"
    PAUSED = "paused"
    DECLINED = "declined"


class RepairTalk(SQLModel, table=True):
    """One /repair talk of a space, from the invitation to both choices."""

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id")
    status: str = Field(default=TalkStatus.OPEN, max_length=12)
    started_at: datetime
    updated_at: datetime  # the last thing either partner did in it (it expires from here)


def _repair_words(column: str) -> Any:
    return Field(
        default=None,
        sa_column=Column(Sealed("repairpart", column, "repair"), nullable=True),
    )


class RepairPart(SQLModel, table=True):
    """A partner's side of a talk: their words, sealed with their own key like notes, where
    they are in it, and whether crisis words keep all of it with them."""

    __table_args__ = (UniqueConstraint("talk_id", "member_id", name="uq_repair_part"),)
    id: int | None = Field(default=None, primary_key=True)
    talk_id: int = _fk("repairtalk.id", index=False)  # uq_repair_part
    space_id: int = _fk("space.id")
    member_id: int = _fk("member.id")
    state: str = Field(default=PartState.INVITED, max_length=12)
    step: int = 0  # the next of REPAIR_STEPS to write; 3 after the
    # three private answers, 4 once chosen
    felt: str | None = _repair_words("felt")  # each at most 1000 characters
    needed: str | None = _repair_words("needed")
    own_part: str | None = _repair_words("own_part")
    differently: str | None = _repair_words("differently")
    held: bool = False  # crisis words in any of them: nothing of this part is ever shown
    reveal: str = Field(default="together", max_length=16)  # the /reveal rule when invited
    asked_at: datetime | None = None  # "Write" tapped: the next reply brings the words
    updated_at: datetime


# Sealed columns sealed in place
install([Member, CheckinAnswer, Promise, QuestionAnswer, NoteOffer, RepairPart])


def promise_text(promise: Promise) -> str:
    """The promise's words as the person typed them."""
    return promise.body


def set_promise_text(promise: Promise, text: str) -> None:
    promise.body = text


class DataKey(SQLModel, table=True):
    """Proof of the data key: a known value sealed with it, never the key itself.

    At start-up it tells a wrong key from the right one, and a new database from one whose key
    went missing.
    """

    id: int | None = Field(default=None, primary_key=True)
    proof: str = Field(max_length=200)
    sealed_at: datetime


class SealKey(SQLModel, table=True):
    """A member's own data key, wrapped by the master key (bot/sealing.py): it seals their words,
    and goes with them (ON DELETE CASCADE), so forgetting destroys every copy's key."""

    member_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("member.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
            primary_key=True,
        )
    )
    space_id: int = _fk("space.id")
    wrapped: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime


class ContentHistory(SQLModel, table=True):
    """Which prompts a space has seen in its current round, so none repeats too soon."""

    __table_args__ = (
        UniqueConstraint("space_id", "member_id", "prompt_id", "cycle", name="uq_history_prompt"),
    )
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # uq_history_prompt
    member_id: int = 0  # 0: the shared rotation; else that partner's side prompts
    prompt_id: str = Field(max_length=40)
    cycle: int
    shown_at: datetime


class PairCode(SQLModel, table=True):
    """A link that joins a private chat to a space; only a hash of the code is kept."""

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    space_id: int = _fk("space.id")
    kind: str = Field(max_length=8)  # "group": any member of the group | "invite": once, a partner
    inviter_id: int | None = None  # the member who made an invite
    expires_at: datetime


class Once(SQLModel, table=True):
    """Things that happen at most once a space, such as a day's reveal or a partner's nudge."""

    __table_args__ = (UniqueConstraint("space_id", "key", name="uq_once_key"),)
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # uq_once_key
    key: str = Field(max_length=64)  # "reveal:2026-11-21", "nudge:2026-11-21:7"
    at: datetime


class Housekeeping(SQLModel, table=True):
    """The daily housekeeping pass: one row a day, claimed by the one process that runs it."""

    day: date = Field(primary_key=True)  # the UTC date of the pass
    at: datetime


class Mark(SQLModel, table=True):
    """What an instance did once for all of them, to be done again only when it changed (the
    Discord command table's hash, which one process syncs)."""

    name: str = Field(primary_key=True, max_length=100)  # "discord-commands:<app>:global"
    value: str = Field(max_length=128)
    at: datetime
