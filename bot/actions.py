"""The one place button actions are written and read: short strings that fit Telegram's 64 bytes."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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
_HURT = re.compile(
    r"hu:(\d+):([1-5])"
)  # the hurt partner's private question (bot/checkins/hurt.py)
_SHARE = re.compile(r"ns:(\d+):([01])")
_SIDE = re.compile(r"s:(doubting|doubted|none)")
_FORGET = re.compile(r"f:(all|me|left):(\d+):(\d+)")
_KEPT = re.compile(r"pr:(\d{1,18}):([dpnx])")
_SHARE_PROMISE = re.compile(r"ps:(\d{1,18}):([01])")
# After "Partly": carry the promise on to a new day (in 1, 3 or 7 days), or let it go (0).
_CARRY = re.compile(r"pc:(\d{1,18}):([0137])")
CARRY_DAYS = (1, 3, 7)
_REF = re.compile(r"[A-Za-z0-9_-]{1,40}")  # a platform's message id (Telegram's, Discord's)
_REMOVE = re.compile(r"x(?::([A-Za-z0-9_-]{1,40}))?")
# Today's question (bot/questions/): answer in words, pass, another question, and the two
# reactions to a revealed answer; each names its local day, so an old message never answers today.
_TODAY = re.compile(r"q([apstk]):(\d{8})")
TODAY_CHOICES = {"a": "answer", "p": "pass", "s": "swap", "t": "thanks", "k": "talk"}
_ANSWERS_PAGE = re.compile(r"qh:(\d{1,4})")
# /path's buttons: a path chosen, Free practice, the pace, a stage again, stop, end a rest.
PATH_CHOICES = (
    "breach",
    "worry",
    "strong",
    "free",
    "slower",
    "normal",
    "repeat",
    "change",
    "stop",
    "resume",
)
_PATH = re.compile(r"w:(" + "|".join(PATH_CHOICES) + r")")
_ZONE = re.compile(r"z:([A-Za-z0-9_+/-]{1,60})")  # an IANA name: at most 32 characters today
# A plain-word answer's buttons run a command: "r:today", "r:pause:3" (bot/talk/).
_RUN = re.compile(r"r:([a-z]{1,12})(?::(\d{1,3}))?")
# The offer made of words typed in a private chat: keep private, share at the reveal, share with
# the partner now (the day's reveal is out), don't keep.
_OFFER = re.compile(r"o:(\d{1,18}):([kswx])")
OFFER_CHOICES = {"k": "keep", "s": "share", "w": "share_now", "x": "drop"}
# The /repair talk (bot/repair/): start, not now, pause, write, make it a promise, or one of the
# suggested things to do differently (0-9); each names its talk, so an old message never answers
# a newer talk.
_REPAIR = re.compile(r"r:(\d{1,18}):([snpwm0-9])")
REPAIR_CHOICES = {"s": "start", "n": "not_now", "p": "pause", "w": "write", "m": "promise"}
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
class Hurt:
    delivery_id: int  # the check-in whose day it answers for
    score: int  # 1 barely to 5 most of the day


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
class Carry:
    promise_id: int
    days: int  # 1, 3 or 7 days on; 0: let it go


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
class PathChoice:
    """A /path button: one of PATH_CHOICES."""

    choice: str


@dataclass(frozen=True)
class Run:
    """A button that runs a command with no words, or a number of days ("/pause 3")."""

    name: str
    args: str = ""


@dataclass(frozen=True)
class Offer:
    """A choice on the offer to keep typed words as today's note: keep | share | share_now | drop."""

    offer_id: int
    choice: str


@dataclass(frozen=True)
class Setup:
    """A tap in the set-up: "skip", "other", or a time of day as HHMM."""

    choice: str


@dataclass(frozen=True)
class Setting:
    """A tap on /settings: a setting's page (value None), or one of its choices."""

    name: str
    value: str | None = None


@dataclass(frozen=True)
class Repair:
    """A choice in a /repair talk: start | not_now | pause | write | promise, or "pick" with
    the index of a suggestion."""

    talk_id: int
    choice: str
    pick: int = -1


Action = (
    Run
    | Offer
    | Answer
    | Hurt
    | Note
    | ShareNote
    | Side
    | Forget
    | Simple
    | Kept
    | SharePromise
    | Carry
    | Remove
    | ChooseZone
    | Today
    | AnswersPage
    | PathChoice
    | Repair
    | Setup
    | Setting
)


def answer(delivery_id: int, score: int) -> str:
    return f"a:{delivery_id}:{score}"


def hurt(delivery_id: int, score: int) -> str:
    return f"hu:{delivery_id}:{score}"


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


def carry(promise_id: int, days: int) -> str:
    return f"pc:{promise_id}:{days}"


def today(day: date, choice: str) -> str:
    code = next(c for c, name in TODAY_CHOICES.items() if name == choice)
    return f"q{code}:{day.strftime('%Y%m%d')}"


def path_choice(choice: str) -> str:
    assert choice in PATH_CHOICES
    return f"w:{choice}"


def answers_page(page: int) -> str:
    return f"qh:{page}"


def repair(talk_id: int, choice: str, pick: int = -1) -> str:
    if choice == "pick":
        return f"r:{talk_id}:{pick}"
    code = next(c for c, name in REPAIR_CHOICES.items() if name == choice)
    return f"r:{talk_id}:{code}"


def opens_form(action: str) -> bool:
    """Whether a button asks for words (a Discord modal opens for it): "Answer" on a question,
    "Write" in a /repair talk."""
    found = parse(action)
    if isinstance(found, Repair):
        return found.choice == "write"
    return isinstance(found, Today) and found.choice == "answer"


def remove(theirs: str | None = None) -> str:
    """ "x", or "x:<id of the person's message>" (an id that fits: at most 42 bytes in all)."""
    return f"{REMOVE}:{theirs}" if theirs is not None and _REF.fullmatch(theirs) else REMOVE


def choose_zone(zone: str) -> str:
    return f"z:{zone}"


def run(line: str) -> str:
    """ "today" -> "r:today"; "pause 3" -> "r:pause:3"."""
    name, _, days = line.partition(" ")
    return f"r:{name}:{days}" if days else f"r:{name}"


def offer(offer_id: int, choice: str) -> str:
    code = next(c for c, name in OFFER_CHOICES.items() if name == choice)
    return f"o:{offer_id}:{code}"


def setup(choice: str) -> str:
    return f"su:{choice}"


def setting(name: str, value: str | None = None) -> str:
    return f"se:{name}" if value is None else f"se:{name}:{value}"


def removes(action: str) -> bool:
    """Whether a button's action is "Remove this from the chat"."""
    return _REMOVE.fullmatch(action) is not None


def _today(m: re.Match[str]) -> Action | None:
    try:
        day = datetime.strptime(m[2], "%Y%m%d").date()
    except ValueError:
        return None
    return Today(day, TODAY_CHOICES[m[1]])


def _repair(m: re.Match[str]) -> Action:
    if m[2].isdigit():
        return Repair(int(m[1]), "pick", int(m[2]))
    return Repair(int(m[1]), REPAIR_CHOICES[m[2]])


# Each action's form and how it is read back, tried in turn: one row per action.
_PARSERS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Action | None]], ...] = (
    (_ANSWER, lambda m: Answer(int(m[1]), int(m[2]))),
    (_HURT, lambda m: Hurt(int(m[1]), int(m[2]))),
    (_NOTE, lambda m: Note(int(m[1]))),
    (_SHARE, lambda m: ShareNote(int(m[1]), m[2] == "1")),
    (_SIDE, lambda m: Side(None if m[1] == "none" else m[1])),
    (_FORGET, lambda m: Forget(m[1], int(m[2]), int(m[3]))),
    (_KEPT, lambda m: Kept(int(m[1]), PROMISE_ANSWERS[m[2]])),
    (_SHARE_PROMISE, lambda m: SharePromise(int(m[1]), m[2] == "1")),
    (_CARRY, lambda m: Carry(int(m[1]), int(m[2]))),
    (_REMOVE, lambda m: Remove(m[1])),
    (_TODAY, _today),
    (_ANSWERS_PAGE, lambda m: AnswersPage(int(m[1]))),
    (_PATH, lambda m: PathChoice(m[1])),
    (_REPAIR, _repair),
    (_ZONE, lambda m: ChooseZone(m[1])),
    (_RUN, lambda m: Run(m[1], m[2] or "")),
    (_OFFER, lambda m: Offer(int(m[1]), OFFER_CHOICES[m[2]])),
    (_SETUP, lambda m: Setup(m[1])),
    (_SETTING, lambda m: Setting(m[1], m[2])),
)


def parse(action: str) -> Action | None:
    """The action a button carries, or None for one Tandem never made (or no longer makes)."""
    if action in (FORGET_NO, PAIR, PRIVACY_MORE, HELP_MORE):
        return Simple(action)
    for form, read in _PARSERS:
        if m := form.fullmatch(action):
            return read(m)
    return None


def note_action_for(buttons: Sequence[Button]) -> str | None:
    """The "add a note" action for a message carrying check-in buttons (Discord adds that button)."""
    for button in buttons:
        if (m := _ANSWER.fullmatch(button.action)) is not None:
            return note(int(m[1]))
    return None


def is_checkin(buttons: Sequence[Button]) -> bool:
    return note_action_for(buttons) is not None
