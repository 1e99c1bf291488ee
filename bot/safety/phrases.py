"""Crisis phrases: how a text and a phrase are compared (whole words, contractions spelled out),
the phrase file's shape, and the matcher that says which needs a text calls for."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.safety.helplines import LineKind

MAX_EXPANSIONS = 2000  # one phrase's alternatives multiplied out: a typo guard, not a budget
MAX_WORDS = 3000  # a longer text is read only this far (a note is at most 1,000 characters)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


# ---- Words: how a text and a phrase are compared ----------------------------------------------

_APOSTROPHES = str.maketrans({c: "'" for c in "’‘`´ʼ′"})
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
FILLERS = frozenset({"so", "really", "very", "just", "truly"})
CONTRACTIONS = {
    "im": "i am",
    "i'm": "i am",
    "ive": "i have",
    "i've": "i have",
    "i'll": "i will",
    "i'd": "i would",
    "he's": "he is",
    "hes": "he is",
    "she's": "she is",
    "shes": "she is",
    "they're": "they are",
    "theyre": "they are",
    "he'll": "he will",
    "she'll": "she will",
    "they'll": "they will",
    "you'd": "you would",
    "they'd": "they would",
    "he'd": "he would",
    "she'd": "she would",
    "everyone'd": "everyone would",
    "can't": "can not",
    "cant": "can not",
    "cannot": "can not",
    "won't": "will not",
    "wont": "will not",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "wouldnt": "would not",
    "wanna": "want to",
    "gonna": "going to",
}


def words(text: str) -> tuple[str, ...]:
    """A text as lower-case words, contractions spelled out and a few fillers dropped."""
    out: list[str] = []
    for token in _WORD.findall(text.lower().translate(_APOSTROPHES)):
        if len(out) >= MAX_WORDS:
            break
        spelled = CONTRACTIONS.get(token)
        if spelled is None and token.endswith("n't"):
            spelled = token[:-3] + " not"
        for word in (spelled or token.replace("'", "")).split():
            if word not in FILLERS:
                out.append(word)
    return tuple(out)


_PIECE = re.compile(r"\(([^()]*)\)|([^()\s]+)|(\S)")


def expand(phrase: str) -> list[tuple[str, ...]]:
    """ "i am (scared|afraid) of him" -> [("i","am","scared","of","him"), (..."afraid"...)].

    Raises ValueError for an unbalanced bracket, an empty alternative or far too many forms.
    """
    choices: list[list[tuple[str, ...]]] = []
    for group, word, stray in _PIECE.findall(phrase):
        if stray:
            raise ValueError(f"unbalanced bracket in {phrase!r}")
        if word:
            choices.append([words(word)])
            continue
        options = [words(option) for option in group.split("|")]
        if any(not option for option in options):
            raise ValueError(f"an empty alternative in {phrase!r}")
        choices.append(options)
    total = 1
    for options in choices:
        total *= len(options)
    if total > MAX_EXPANSIONS:
        raise ValueError(f"{phrase!r} has {total} forms; split it (at most {MAX_EXPANSIONS})")
    forms = [tuple(itertools.chain.from_iterable(parts)) for parts in itertools.product(*choices)]
    if not forms or not any(forms):
        raise ValueError("a phrase needs at least one word")
    return forms


class Need(_Strict):
    """What some crisis phrases call for: which kinds of line, and the words around them."""

    kind: str = Field(pattern=r"^[a-z_]+$")
    lines: tuple[LineKind, ...] = Field(min_length=1)
    reply: str = Field(min_length=1, max_length=800)
    phrases: tuple[str, ...] = Field(min_length=1)

    @field_validator("phrases")
    @classmethod
    def _expandable(cls, phrases: tuple[str, ...]) -> tuple[str, ...]:
        for phrase in phrases:
            expand(phrase)
        return phrases


class CrisisFile(_Strict):
    """content/crisis.toml."""

    exceptions: tuple[str, ...] = Field(default=(), alias="except")
    need: tuple[Need, ...] = Field(min_length=1)

    @field_validator("exceptions")
    @classmethod
    def _expandable(cls, phrases: tuple[str, ...]) -> tuple[str, ...]:
        for phrase in phrases:
            expand(phrase)
        return phrases


# ---- Matching ---------------------------------------------------------------------------------


class Matcher:
    """Finds the reviewed phrases in a text, whole words only; says which needs they call for."""

    def __init__(self, needs: Sequence[tuple[str, Iterable[str]]], exceptions: Iterable[str]):
        self.order = [kind for kind, _ in needs]
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self.forms = 0
        for kind, phrases in needs:
            for phrase in phrases:
                for form in expand(phrase):
                    self._phrases.setdefault(form[0], []).append((form, kind))
                    self.forms += 1
        self._exceptions: dict[str, list[tuple[str, ...]]] = {}
        for phrase in exceptions:
            for form in expand(phrase):
                self._exceptions.setdefault(form[0], []).append(form)

    @staticmethod
    def _at(text: tuple[str, ...], start: int, form: tuple[str, ...]) -> bool:
        return text[start : start + len(form)] == form

    def needs(self, text: str) -> tuple[str, ...]:
        """The needs whose phrases the text contains, in the file's order; () for none."""
        said = words(text)
        spared = [
            (i, i + len(form))
            for i, word in enumerate(said)
            for form in self._exceptions.get(word, ())
            if self._at(said, i, form)
        ]
        found: set[str] = set()
        for i, word in enumerate(said):
            for form, kind in self._phrases.get(word, ()):
                if kind in found or not self._at(said, i, form):
                    continue
                end = i + len(form)
                if not any(s < end and i < e for s, e in spared):
                    found.add(kind)
        return tuple(kind for kind in self.order if kind in found)
