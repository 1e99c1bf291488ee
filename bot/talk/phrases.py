"""content/talk.toml read and checked, and the matcher that finds the intent in a few plain words.

Words are compared after they are made plain: case, accents, punctuation, emoji and letters
said over and over ("hiiii") are set aside, and a typo or two is forgiven (rapidfuzz's optimal
string alignment distance: a swap of two letters counts as one). Only short messages are read
for an intent: a long one is what someone wants to say, not a question for Tandem.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import emoji
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from rapidfuzz import process
from rapidfuzz.distance import OSA

# The commands a talk button may run, with no words after them or a number of days (/pause 3).
RUNNABLE = frozenset(
    {"today", "checkin", "help", "privacy", "schedule", "support", "progress", "pause", "start"}
)
INTENTS = ("greeting", "help", "what_now", "how", "thanks", "stop", "privacy")
MAX_WORDS = 60  # characters of plain words read for an intent; longer is free text
PLACEHOLDERS = ("name",)
_REPEATS = re.compile(r"(.)\1+")
_SPACES = re.compile(r"\s+")

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TalkButton(_Strict):
    label: Label
    run: str  # "today", or "pause 3": a command and, for /pause, a number of days

    @field_validator("run")
    @classmethod
    def _runnable(cls, run: str) -> str:
        name, _, arg = run.partition(" ")
        if name not in RUNNABLE:
            raise ValueError(f"{name!r} is not a command a button may run ({sorted(RUNNABLE)})")
        if arg and not arg.isdigit():
            raise ValueError(f"{run!r}: only a number of days may follow the command")
        return run


def _check_placeholders(text: str) -> str:
    try:
        text.format(name="")
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(f"may use only {{name}} in braces ({err!r})") from None
    return text


class Intent(_Strict):
    name: str
    phrases: tuple[Annotated[str, StringConstraints(min_length=1, max_length=MAX_WORDS)], ...] = (
        Field(min_length=5)
    )
    emoji: tuple[str, ...] = ()
    # The answer, or `run`: the command whose own answer it is (/privacy's summary, /help).
    answer: Line | None = None
    buttons: tuple[TalkButton, ...] = Field(default=(), max_length=4)
    run: str | None = None
    # For someone who is not (yet) one of the couple: they have nothing to look at yet.
    answer_new: Line | None = None
    buttons_new: tuple[TalkButton, ...] = Field(default=(), max_length=4)

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in INTENTS:
            raise ValueError(f"{name!r} is not one of {', '.join(INTENTS)}")
        return name

    @field_validator("answer", "answer_new")
    @classmethod
    def _placeholders(cls, text: str | None) -> str | None:
        return None if text is None else _check_placeholders(text)

    @field_validator("run")
    @classmethod
    def _run(cls, run: str | None) -> str | None:
        if run is not None and run not in RUNNABLE:
            raise ValueError(f"{run!r} is not a command an intent may run ({sorted(RUNNABLE)})")
        return run

    @field_validator("emoji")
    @classmethod
    def _emoji(cls, found: tuple[str, ...]) -> tuple[str, ...]:
        for one in found:
            if not emoji.is_emoji(one):
                raise ValueError(f"{one!r} is not a single emoji")
        return found


class TalkFile(_Strict):
    ignore: tuple[str, ...] = ()  # words that change nothing: "tandem", "please"
    intent: tuple[Intent, ...]
    unknown: Line  # the gentle line for words Tandem can't place: it names two things to try
    unknown_buttons: tuple[TalkButton, ...] = Field(min_length=2, max_length=3)
    unknown_new: Line
    unknown_new_buttons: tuple[TalkButton, ...] = Field(min_length=1, max_length=3)
    offer: Line  # "Keep this as today's private note?"

    @field_validator("intent")
    @classmethod
    def _every_intent_once(cls, intents: tuple[Intent, ...]) -> tuple[Intent, ...]:
        names = [i.name for i in intents]
        missing = [n for n in INTENTS if n not in names]
        if missing or len(set(names)) != len(names):
            raise ValueError(f"each of {', '.join(INTENTS)} exactly once (missing: {missing})")
        for intent in intents:
            if (intent.answer is None) == (intent.run is None):
                raise ValueError(f"{intent.name}: give an answer or a run, not both")
        return intents


def plain(text: str) -> str:
    """Lower case, no accents, no punctuation or emoji, one space between words."""
    text = emoji.replace_emoji(unicodedata.normalize("NFKC", text), " ")
    text = text.replace("'", "").replace("’", "")  # what's -> whats, don't -> dont
    kept = []
    for char in unicodedata.normalize("NFKD", text.casefold()):
        kind = unicodedata.category(char)
        if kind == "Mn":
            continue  # an accent
        kept.append(char if kind[0] in "LN" else " ")
    return _SPACES.sub(" ", "".join(kept)).strip()


def squeezed(words: str) -> str:
    """ "hiiii thaaanks" -> "hi thanks": a letter said over and over counts once."""
    return _REPEATS.sub(r"\1", words)


def allowed_typos(length: int) -> int:
    if length <= 3:
        return 0
    if length <= 5:
        return 1
    if length <= 9:
        return 2
    return min(4, length // 5)


@dataclass
class Talk:
    """The intents and their words, ready to match."""

    intents: tuple[Intent, ...] = ()
    ignore: frozenset[str] = frozenset()
    unknown: str = "I'm not sure what you mean. Try /today, or /help for what I can do."
    unknown_buttons: tuple[TalkButton, ...] = ()
    unknown_new: str = "I'm not sure what you mean. Send /start to begin, or /help."
    unknown_new_buttons: tuple[TalkButton, ...] = ()
    offer: str = "Keep this as today's private note?"
    _choices: dict[str, str] = field(default_factory=dict)  # squeezed phrase -> intent
    _emoji: dict[str, str] = field(default_factory=dict)  # emoji -> intent
    _by_name: dict[str, Intent] = field(default_factory=dict)

    @classmethod
    def build(cls, data: TalkFile) -> Talk:
        talk = cls(
            data.intent,
            frozenset(plain(w) for w in data.ignore),
            data.unknown,
            data.unknown_buttons,
            data.unknown_new,
            data.unknown_new_buttons,
            data.offer,
        )
        for intent in data.intent:
            talk._by_name[intent.name] = intent
            for phrase in intent.phrases:
                key = talk._key(phrase)
                if not key:
                    raise ValueError(f"{intent.name}: {phrase!r} has no words once made plain")
                other = talk._choices.setdefault(key, intent.name)
                if other != intent.name:
                    raise ValueError(f"{phrase!r} is in both {other} and {intent.name}")
            for one in intent.emoji:
                talk._emoji.setdefault(emoji.demojize(one), intent.name)
        return talk

    def _key(self, text: str) -> str:
        words = [w for w in plain(text).split() if w not in self.ignore]
        return squeezed(" ".join(words))

    def intent(self, name: str) -> Intent | None:
        return self._by_name.get(name)

    def match(self, text: str) -> Intent | None:
        """The intent of a short message, or None (then it is words of one's own)."""
        if len(text) > MAX_WORDS * 2:
            return None
        key = self._key(text)
        if not key:
            for each in emoji.emoji_list(text):
                name = self._emoji.get(emoji.demojize(each["emoji"]))
                if name is not None:
                    return self._by_name[name]
            return None
        if len(key) > MAX_WORDS:
            return None
        found = self._closest(key)
        if found is None or found == "greeting":
            # "hi, what now?": a greeting in front of a question is the question.
            words = key.split()
            for cut in (1, 2):
                head, rest = " ".join(words[:cut]), " ".join(words[cut:])
                if rest and self._choices.get(head) == "greeting":
                    found = self._closest(rest) or found or "greeting"
                    break
        return self._by_name[found] if found is not None else None

    def _closest(self, key: str) -> str | None:
        exact = self._choices.get(key)
        if exact is not None:
            return exact
        best = process.extractOne(
            key, list(self._choices), scorer=OSA.distance, score_cutoff=allowed_typos(len(key))
        )
        return self._choices[best[0]] if best is not None else None


def load_talk(path: Path) -> Talk:
    """content/talk.toml, checked; a ValueError names the file and the field."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        return Talk.build(TalkFile.model_validate(data))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{path}: {where}: {first['msg']}") from None
    except (ValueError, OSError) as err:  # a TOML error is a ValueError too
        raise ValueError(f"{path}: {err}") from None
