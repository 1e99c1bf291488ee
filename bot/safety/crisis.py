"""The helplines by region, /support's words and the small reviewed list of crisis phrases, as
loaded with the content; bot/safety/replies.py says where a reply about them may go."""

from __future__ import annotations

import importlib.resources
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ELSEWHERE = "elsewhere"
LineKind = Literal["emergency", "abuse", "crisis", "directory"]
HeadedKind = Literal["abuse", "crisis", "directory"]
MAX_EXPANSIONS = 2000  # one phrase's alternatives multiplied out: a typo guard, not a budget
MAX_WORDS = 3000  # a longer text is read only this far (a note is at most 1,000 characters)
# Old zone names that zone.tab does not list, for the countries with lines of their own.
LEGACY_ZONES = {"GB": "GB", "GB-Eire": "GB", "Europe/Belfast": "GB", "Eire": "IE"}
SUPPORT_START = "support"  # "/start support-GB": a /support button opened a private chat


def is_support_start(args: str) -> bool:
    """ "support" or "support-GB": the payload a /support button's private chat opens with."""
    return re.fullmatch(rf"{SUPPORT_START}(-[A-Za-z]{{2,9}})?", args) is not None


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


# ---- The data files ---------------------------------------------------------------------------


class Line(_Strict):
    """One way to reach help: a number, a text line or a directory."""

    kind: LineKind
    name: str = Field(min_length=1, max_length=80)
    how: str = Field(min_length=1, max_length=300)
    source: str = Field(pattern=r"^https://[^\s/]+\.[^\s]+$")  # where it was checked
    checked: date  # when it was checked

    @property
    def host(self) -> str:
        return (urlsplit(self.source).hostname or "").removeprefix("www.")


class Region(_Strict):
    code: str = Field(pattern=rf"^([A-Z]{{2}}|{ELSEWHERE})$")  # ISO 3166 country, or elsewhere
    name: str = Field(min_length=1, max_length=40)
    line: tuple[Line, ...] = Field(min_length=1)

    @field_validator("line")
    @classmethod
    def _one_emergency(cls, lines: tuple[Line, ...]) -> tuple[Line, ...]:
        if sum(1 for line in lines if line.kind == "emergency") > 1:
            raise ValueError("at most one emergency line per region")
        return lines

    def lines(self, kind: str) -> list[Line]:
        return [line for line in self.line if line.kind == kind]


class Helplines(_Strict):
    """content/helplines.toml."""

    kinds: dict[HeadedKind, str]
    region: tuple[Region, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> Helplines:
        missing = {"abuse", "crisis", "directory"} - set(self.kinds)
        if missing:
            raise ValueError(f"kinds: needs a heading for {sorted(missing)[0]!r}")
        codes = [r.code for r in self.region]
        doubled = {c for c in codes if codes.count(c) > 1}
        if doubled:
            raise ValueError(f"region: {sorted(doubled)[0]!r} is listed twice")
        elsewhere = [r for r in self.region if r.code == ELSEWHERE]
        if not elsewhere or not elsewhere[0].lines("directory"):
            raise ValueError(f"region: needs a {ELSEWHERE!r} region with a directory line")
        return self


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


# ---- Regions ----------------------------------------------------------------------------------


@cache
def _zone_countries() -> dict[str, str]:
    """Zone name -> ISO country code, from the tz database's zone.tab (tzdata, else the system)."""
    text = ""
    try:
        text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        system = Path("/usr/share/zoneinfo/zone.tab")
        text = system.read_text() if system.exists() else ""
    countries: dict[str, str] = {}
    for row in text.splitlines():
        if row.startswith("#") or not row.strip():
            continue
        parts = row.split("\t")
        if len(parts) >= 3:
            countries[parts[2]] = parts[0]
    return countries


def country_of(zone: str | None) -> str | None:
    """The country a zone name belongs to: "Europe/London" -> "GB"; UTC or an offset -> None."""
    if not zone:
        return None
    if zone.startswith("US/"):
        return "US"
    return LEGACY_ZONES.get(zone) or _zone_countries().get(zone)


# ---- The texts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Safety:
    """The helplines, the crisis phrases, and the words built from them."""

    helplines: Helplines | None = None
    replies: dict[str, Need] = field(default_factory=dict)
    matcher: Matcher = field(default_factory=lambda: Matcher([], []))

    @classmethod
    def build(cls, helplines: Helplines, crisis: CrisisFile) -> Safety:
        kinds = [n.kind for n in crisis.need]
        if len(set(kinds)) != len(kinds):
            raise ValueError("need.kind: each need is listed once")
        matcher = Matcher([(n.kind, n.phrases) for n in crisis.need], crisis.exceptions)
        return cls(helplines, {n.kind: n for n in crisis.need}, matcher)

    def counts(self) -> dict[str, int]:
        """For `tandem content check`: how many helplines, regions and crisis phrases."""
        regions = self.helplines.region if self.helplines else ()
        return {
            "helpline regions": len(regions),
            "helplines": sum(len(r.line) for r in regions),
            "crisis phrases": sum(len(n.phrases) for n in self.replies.values()),
            "crisis phrase forms": self.matcher.forms,
        }

    def region(self, zone: str | None = None, code: str | None = None) -> Region | None:
        """The region for a zone (or a code); the elsewhere region when no country matches."""
        if self.helplines is None:
            return None
        wanted = code or country_of(zone) or ELSEWHERE
        by_code = {r.code: r for r in self.helplines.region}
        return by_code.get(wanted) or by_code[ELSEWHERE]

    def _directory(self) -> Line | None:
        found = self.region(code=ELSEWHERE)
        return found.lines("directory")[0] if found else None

    def danger_line(self, region: Region | None) -> str:
        emergency = region.lines("emergency") if region else []
        how = emergency[0].how if emergency else "call your local emergency number"
        return f"🆘 In danger right now? {how[0].upper()}{how[1:]}."

    def lines_text(self, region: Region | None, kinds: Sequence[str]) -> str:
        """Each kind's heading and its lines, for the kinds asked for (emergency aside)."""
        if region is None or self.helplines is None:
            return ""
        blocks: list[str] = []
        for kind, heading in self.helplines.kinds.items():
            found = region.lines(kind) if kind in kinds or kind == "directory" else []
            if found:
                blocks.append(heading + "\n" + "\n".join(f"• {x.name}: {x.how}" for x in found))
        return "\n\n".join(blocks)

    def assumed(self, region: Region | None, zone: str | None, from_code: bool = False) -> str:
        """Which region was assumed, from what, and where to look instead."""
        directory, helplines = self._directory(), self.helplines
        if region is None or directory is None or helplines is None:
            return ""
        if region.code != ELSEWHERE:
            source = "your shared chat's timezone" if from_code else f"your timezone {zone}"
            return (
                f"I assumed {region.name} from {source}. Somewhere else? {directory.name} "
                f"({directory.host}) lists the lines for every country."
            )
        if zone and country_of(zone):
            others = [r.name for r in helplines.region if r.code != ELSEWHERE]
            listed = (
                ", ".join(others[:-1]) + f" or {others[-1]}" if len(others) > 1 else "".join(others)
            )
            return (
                f"From your timezone {zone} I assumed a country outside {listed}, so these "
                "are the lines for anywhere."
            )
        said = f" ({zone})" if zone else ""
        return (
            f"I can't tell your country from your timezone{said}, so these are the lines for "
            "anywhere. /timezone sets yours."
        )

    def support(self, general: str, zone: str | None, code: str | None = None) -> str:
        """The whole /support answer: danger first, the region's lines, the general text."""
        region = self.region(zone, code)
        kinds = ("abuse", "crisis")
        parts = [
            self.danger_line(region),
            self.lines_text(region, kinds),
            general.strip(),
            self.assumed(region, zone, from_code=code is not None),
        ]
        return "\n\n".join(p for p in parts if p)

    def needs(self, text: str) -> tuple[str, ...]:
        return self.matcher.needs(text)

    def crisis_reply(self, needs: Sequence[str], zone: str | None) -> str:
        """Gentle words for what was found, then the lines that fit it, for the region."""
        region = self.region(zone)
        chosen = [self.replies[n] for n in needs if n in self.replies]
        kinds = [k for need in chosen for k in need.lines]
        parts = [
            *(need.reply.strip() for need in chosen[:1]),
            self.danger_line(region),
            self.lines_text(region, kinds),
            self.assumed(region, zone),
            "Only you see this: your partner isn't told, and none of it is written to any log.",
        ]
        return "\n\n".join(p for p in parts if p)
