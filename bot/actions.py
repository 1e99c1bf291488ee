"""The one place button actions are written and read: short strings that fit Telegram's 64 bytes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.messages import Button

SKIP = 0  # the score a "Skip today" tap records: taking part, without a number
FORGET_NO = "f:no"
PAIR = "p"  # "answer privately": link my private chat (a deep link, or a Discord DM)
PRIVACY_MORE = "v"  # /privacy's "everything, in detail"
HELP_MORE = "h"  # /help's "More": every command, with examples
REMOVE = "x"  # "Remove this from the chat", on /support's answer and every crisis reply
SIDES = ("doubting", "doubted", "none")

_ANSWER = re.compile(r"a:(\d+):(\d)")
_NOTE = re.compile(r"n:(\d+)")
_SHARE = re.compile(r"ns:(\d+):([01])")
_SIDE = re.compile(r"s:(doubting|doubted|none)")
_FORGET = re.compile(r"f:(all|me|left):(\d+):(\d+)")
_KEPT = re.compile(r"pr:(\d{1,18}):([dpnx])")
_SHARE_PROMISE = re.compile(r"ps:(\d{1,18}):([01])")
_REF = re.compile(r"[A-Za-z0-9_-]{1,40}")  # a platform's message id (Telegram's, Discord's)
_REMOVE = re.compile(r"x(?::([A-Za-z0-9_-]{1,40}))?")
# Today's question (bot/questions/): answer in words, pass, another question, and the two
# reactions to a revealed answer; each names its local day, so an old message never answers today.
_TODAY = re.compile(r"q([apstk]):(\d{8})")
TODAY_CHOICES = {"a": "answer", "p": "pass", "s": "swap", "t": "thanks", "k": "talk"}
_ANSWERS_PAGE = re.compile(r"qh:(\d{1,4})")
_ZONE = re.compile(r"z:([A-Za-z0-9_+/-]{1,60})")  # an IANA name: at most 32 characters today
# The set-up after the first /start: a time of day ("su:2000"), "Other", or skipping it.
_SETUP = re.compile(r"su:(skip|other|\d{4})")
# /settings: a setting's page ("se:reveal") or one of its choices ("se:reveal:instant").
_SETTING = re.compile(r"se:([a-z]{1,8})(?::([A-Za-z0-9_+,:-]{1,50}))?")
# A promise's follow-up answers: Done, Partly, Not yet (a week more), Let it go.
PROMISE_ANSWERS = {"d": "done", "p": "partly", "n": "not_yet", "x": "let_go"}


@dataclass(frozen=True)
class Answer:
    delivery_id: int
    score: int  # 1..5, or SKIP


@dataclass(frozen=True)
class Note:
    delivery_id: int


@dataclass(frozen=True)
class ShareNote:
    answer_id: int
    share: bool


@dataclass(frozen=True)
class Side:
    side: str | None  # None: "both, or I'd rather not say"


@dataclass(frozen=True)
class Forget:
    scope: str  # "all" | "me" | "left" (what one left behind in spaces they have left)
    member_id: int
    asked_at: int  # unix seconds: the confirmation expires


@dataclass(frozen=True)
class Simple:
    name: str  # FORGET_NO, PAIR


@dataclass(frozen=True)
class Kept:
    promise_id: int
    answer: str  # done | partly | not_yet | let_go


@dataclass(frozen=True)
class SharePromise:
    promise_id: int
    share: bool


@dataclass(frozen=True)
class Remove:
    """ "Remove this from the chat": Tandem's message the button is on goes, and with it the
    person's own message that led to it (`theirs`), where that one sat in the same private chat."""

    theirs: str | None = None


@dataclass(frozen=True)
class Today:
    """A choice on today's question: answer | pass | swap | thanks | talk."""

    day: date
    choice: str


@dataclass(frozen=True)
class AnswersPage:
    page: int  # /answers' page, 1 the newest


@dataclass(frozen=True)
class ChooseZone:
    """One of the places an ambiguous /timezone offered ("Portland, Maine")."""

    zone: str


@dataclass(frozen=True)
class Setup:
    """A tap in the set-up: "skip", "other", or a time of day as HHMM."""

    choice: str


@dataclass(frozen=True)
class Setting:
    """A tap on /settings: a setting's page (value None), or one of its choices."""

    name: str
    value: str | None = None


Action = (
    Answer
    | Note
    | ShareNote
    | Side
    | Forget
    | Simple
    | Kept
    | SharePromise
    | Remove
    | ChooseZone
    | Today
    | AnswersPage
    | Setup
    | Setting
)


def answer(delivery_id: int, score: int) -> str:
    return f"a:{delivery_id}:{score}"


def note(delivery_id: int) -> str:
    return f"n:{delivery_id}"


def share_note(answer_id: int, share: bool) -> str:
    return f"ns:{answer_id}:{int(share)}"


def side(value: str) -> str:
    return f"s:{value}"


def forget(scope: str, member_id: int, at: datetime) -> str:
    return f"f:{scope}:{member_id}:{int(at.timestamp())}"


def kept(promise_id: int, answer: str) -> str:
    code = next(c for c, name in PROMISE_ANSWERS.items() if name == answer)
    return f"pr:{promise_id}:{code}"


def share_promise(promise_id: int, share: bool) -> str:
    return f"ps:{promise_id}:{int(share)}"


def today(day: date, choice: str) -> str:
    code = next(c for c, name in TODAY_CHOICES.items() if name == choice)
    return f"q{code}:{day.strftime('%Y%m%d')}"


def answers_page(page: int) -> str:
    return f"qh:{page}"


def opens_form(action: str) -> bool:
    """Whether a button asks for words (a Discord modal opens for it): "Answer" on a question."""
    found = parse(action)
    return isinstance(found, Today) and found.choice == "answer"


def remove(theirs: str | None = None) -> str:
    """ "x", or "x:<id of the person's message>" (an id that fits: at most 42 bytes in all)."""
    return f"{REMOVE}:{theirs}" if theirs is not None and _REF.fullmatch(theirs) else REMOVE


def choose_zone(zone: str) -> str:
    return f"z:{zone}"


def setup(choice: str) -> str:
    return f"su:{choice}"


def setting(name: str, value: str | None = None) -> str:
    return f"se:{name}" if value is None else f"se:{name}:{value}"


def removes(action: str) -> bool:
    """Whether a button's action is "Remove this from the chat"."""
    return _REMOVE.fullmatch(action) is not None


def parse(action: str) -> Action | None:
    """The action a button carries, or None for one Tandem never made (or no longer makes)."""
    if action in (FORGET_NO, PAIR, PRIVACY_MORE, HELP_MORE):
        return Simple(action)
    if m := _ANSWER.fullmatch(action):
        return Answer(int(m[1]), int(m[2]))
    if m := _NOTE.fullmatch(action):
        return Note(int(m[1]))
    if m := _SHARE.fullmatch(action):
        return ShareNote(int(m[1]), m[2] == "1")
    if m := _SIDE.fullmatch(action):
        return Side(None if m[1] == "none" else m[1])
    if m := _FORGET.fullmatch(action):
        return Forget(m[1], int(m[2]), int(m[3]))
    if m := _KEPT.fullmatch(action):
        return Kept(int(m[1]), PROMISE_ANSWERS[m[2]])
    if m := _SHARE_PROMISE.fullmatch(action):
        return SharePromise(int(m[1]), m[2] == "1")
    if m := _REMOVE.fullmatch(action):
        return Remove(m[1])
    if m := _TODAY.fullmatch(action):
        try:
            day = datetime.strptime(m[2], "%Y%m%d").date()
        except ValueError:
            return None
        return Today(day, TODAY_CHOICES[m[1]])
    if m := _ANSWERS_PAGE.fullmatch(action):
        return AnswersPage(int(m[1]))
    if m := _ZONE.fullmatch(action):
        return ChooseZone(m[1])
    if m := _SETUP.fullmatch(action):
        return Setup(m[1])
    if m := _SETTING.fullmatch(action):
        return Setting(m[1], m[2])
    return None


def note_action_for(buttons: Sequence[Button]) -> str | None:
    """The "add a note" action for a message carrying check-in buttons (Discord adds that button)."""
    for button in buttons:
        if (m := _ANSWER.fullmatch(button.action)) is not None:
            return note(int(m[1]))
    return None


def is_checkin(buttons: Sequence[Button]) -> bool:
    return note_action_for(buttons) is not None
