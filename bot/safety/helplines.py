"""Helplines by region (content/helplines.toml's shape) and which country a timezone is in."""

from __future__ import annotations

import importlib.resources
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
