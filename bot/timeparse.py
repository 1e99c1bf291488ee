"""Reads what members type about time: "8pm", "weekdays", "Europe/Berlin", "UTC+5:30", "3 days"."""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, time, timedelta, timezone, tzinfo

from bot.errors import UserError
from bot.zonenames import (
    ABBREVIATIONS,
    OTHER_MEANINGS,
    find_city,
    find_place,
    runs_summer_time,
)

MAX_ARG = 64  # longer than any zone, time or day list a person types

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAYS = frozenset(range(7))
WEEKDAYS = frozenset(range(5))
WEEKENDS = frozenset({5, 6})

_TIME_EXAMPLE = "Try a time like 20:30, 8pm or 8:30 pm."
_DAYS_EXAMPLE = "Try daily, weekdays, weekends, or days like mon,wed,fri."
_ZONE_EXAMPLE = "Try a zone like Europe/Berlin, a city like Berlin or Paris, France, or an offset like UTC+5:30."

_TIME_24 = re.compile(r"(?P<h>\d{1,2})(?:\s*[:.h]\s*(?P<m>\d{2}))?")
_TIME_12 = re.compile(r"(?P<h>\d{1,2})(?:\s*[:.]\s*(?P<m>\d{2}))?\s*(?P<ap>[ap])\.?\s*m\.?")
_OFFSET = re.compile(r"(?:utc|gmt)?\s*(?P<sign>[+-])\s*(?P<h>\d{1,2})(?:\s*:?\s*(?P<m>\d{2}))?")
_PAUSE = re.compile(r"(?P<n>\d{1,4})\s*(?P<unit>d|days?|w|weeks?)?")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_WORDS = {
    word: index
    for index, full in enumerate(_FULL_DAYS)
    for word in (full[:3], full[:3] + "s", full, full + "s")
} | {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}
_DAY_ALIASES = {
    "daily": ALL_DAYS,
    "everyday": ALL_DAYS,
    "every day": ALL_DAYS,
    "all": ALL_DAYS,
    "weekdays": WEEKDAYS,
    "weekday": WEEKDAYS,
    "workdays": WEEKDAYS,
    "weekends": WEEKENDS,
    "weekend": WEEKENDS,
}


def _clip(text: str) -> str:
    return text if len(text) <= 24 else text[:21] + "..."


def _check_length(text: str, example: str) -> str:
    cleaned = " ".join(text.strip().lower().split())
    if len(cleaned) > MAX_ARG:
        raise UserError(f"That is longer than I can read. {example}")
    return cleaned


def parse_time(text: str) -> time:
    """A local time of day from "20:30", "8pm", "8:30 pm", "noon" or "midnight"."""
    cleaned = _check_length(text, _TIME_EXAMPLE)
    if cleaned in ("noon", "midday"):
        return time(12, 0)
    if cleaned == "midnight":
        return time(0, 0)
    if match := _TIME_12.fullmatch(cleaned):
        hour, minute = int(match["h"]), int(match["m"] or 0)
        if 1 <= hour <= 12 and minute < 60:
            return time(hour % 12 + (12 if match["ap"] == "p" else 0), minute)
    elif (
        (match := _TIME_24.fullmatch(cleaned))
        and int(match["h"]) < 24
        and int(match["m"] or 0) < 60
    ):
        return time(int(match["h"]), int(match["m"] or 0))
    raise UserError(f"I couldn't read “{_clip(text.strip())}” as a time of day. {_TIME_EXAMPLE}")


def parse_days(text: str) -> frozenset[int]:
    """Weekdays (0 = Monday) from "daily", "weekdays", "weekends", "mon,wed,fri" or "mon-fri"."""
    cleaned = _check_length(text, _DAYS_EXAMPLE)
    if not cleaned:
        return ALL_DAYS
    if cleaned in _DAY_ALIASES:
        return _DAY_ALIASES[cleaned]
    days: set[int] = set()
    for part in re.split(r"[,\s]+", cleaned):
        if not part:
            continue
        ends = part.split("-")
        if len(ends) == 2:
            start, end = _day(ends[0], text), _day(ends[1], text)
            days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
        elif len(ends) == 1:
            days.add(_day(part, text))
        else:
            raise UserError(f"I couldn't read “{_clip(text.strip())}” as days. {_DAYS_EXAMPLE}")
    if not days:
        raise UserError(f"I couldn't read “{_clip(text.strip())}” as days. {_DAYS_EXAMPLE}")
    return frozenset(days)


def _day(word: str, original: str) -> int:
    if (index := _DAY_WORDS.get(word.strip("."))) is None:
        raise UserError(f"I couldn't read “{_clip(original.strip())}” as days. {_DAYS_EXAMPLE}")
    return index


def format_days(days: frozenset[int]) -> str:
    """The words a confirmation uses for a set of weekdays."""
    if days == ALL_DAYS:
        return "every day"
    if days == WEEKDAYS:
        return "on weekdays"
    if days == WEEKENDS:
        return "on weekends"
    titles = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    return "on " + ", ".join(titles[d] for d in sorted(days))


def days_to_cron(days: frozenset[int]) -> str:
    return ",".join(DAY_NAMES[d] for d in sorted(days))


def days_from_cron(text: str) -> frozenset[int]:
    return frozenset(DAY_NAMES.index(d) for d in text.split(",") if d)


@dataclass(frozen=True)
class Zone:
    """A timezone the way a space stores it: its name, and the tzinfo it stands for."""

    name: str
    tz: tzinfo
    note: str = ""  # how a name was read, when it was not a zone's own ("EST is taken as ...")


@functools.lru_cache(maxsize=1024)
def zone_from_name(name: str) -> tzinfo:
    """The tzinfo for a stored zone name: an IANA name or "UTC+05:30" (cached: a claim asks
    for the same few zones thousands of times)."""
    if match := re.fullmatch(r"UTC([+-])(\d{2}):(\d{2})", name):
        delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
        return timezone(-delta if match[1] == "-" else delta, name)
    return zoneinfo.ZoneInfo(name)


def parse_zone(text: str) -> Zone:
    """A timezone from an IANA name, a city name or a UTC offset."""
    cleaned = _check_length(text, _ZONE_EXAMPLE)
    if cleaned in ("utc", "gmt", "z", "utc+0", "utc-0", "gmt+0"):
        return Zone("UTC", zoneinfo.ZoneInfo("UTC"))
    if match := _OFFSET.fullmatch(cleaned):
        hours, minutes = int(match["h"]), int(match["m"] or 0)
        if minutes in (0, 15, 30, 45) and hours * 60 + minutes <= 14 * 60:
            name = f"UTC{match['sign']}{hours:02d}:{minutes:02d}"
            if hours == minutes == 0:
                name = "UTC"
            return Zone(name, zone_from_name(name))
        raise UserError(
            f"“{_clip(text.strip())}” is not an offset I know: offsets run from UTC-14 to "
            f"UTC+14 in quarter hours. {_ZONE_EXAMPLE}"
        )
    if (meant := ABBREVIATIONS.get(cleaned.replace(".", ""))) is not None:
        zone, words = meant
        other = OTHER_MEANINGS.get(cleaned.replace(".", ""))
        moves = ", which moves with summer time" if runs_summer_time(zone) else ""
        note = f"I took {cleaned.upper()} as {words} ({zone}){moves}." + (
            f" If you meant another: {other}." if other else ""
        )
        return Zone(zone, zoneinfo.ZoneInfo(zone), note)
    key = cleaned.replace(" ", "_")
    typed = _clip(text.strip())
    found = _iana_index().get(key)
    if found is None or found not in _canonical_set():
        # A country or "city, country" before tzdata's old names ("Japan", "US/Eastern").
        found = (
            find_place(cleaned, typed)
            or found
            or _city_index().get(cleaned)
            or find_city(cleaned, typed)
        )
    if found is None:
        raise UserError(f"I don't know the timezone “{typed}”. {_ZONE_EXAMPLE}")
    return Zone(found, zoneinfo.ZoneInfo(found))


@functools.cache
def _canonical_set() -> frozenset[str]:
    return frozenset(canonical_zones())


@functools.cache
def _iana_index() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


@functools.cache
def canonical_zones() -> tuple[str, ...]:
    """IANA zones a person would pick: Area/City names, not legacy aliases like US/Eastern."""
    areas = (
        "Africa",
        "America",
        "Antarctica",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    )
    return tuple(sorted(n for n in zoneinfo.available_timezones() if n.split("/")[0] in areas))


@functools.cache
def _city_index() -> dict[str, str]:
    """City name -> zone, from the last part of the IANA names ("new york" -> America/New_York)."""
    index: dict[str, str] = {}
    for name in canonical_zones():
        index.setdefault(name.rsplit("/", 1)[-1].replace("_", " ").lower(), name)
    return index


def zone_suggestions(prefix: str, limit: int = 25) -> list[str]:
    """Zones and cities starting with (or containing) what was typed, for autocomplete."""
    typed = " ".join(prefix.strip().lower().split())[:MAX_ARG]
    names = canonical_zones()
    starts = [n for n in names if n.lower().startswith(typed.replace(" ", "_"))]
    by_city = [
        n
        for n in names
        if n not in starts and n.rsplit("/", 1)[-1].replace("_", " ").lower().startswith(typed)
    ]
    contains = [n for n in names if typed and typed.replace(" ", "_") in n.lower()]
    seen: dict[str, None] = dict.fromkeys(starts + by_city + contains)
    return list(seen)[:limit]


def parse_pause(text: str) -> int | None:
    """How many days to pause: "" means until /resume (None); "3", "3 days", "2 weeks"."""
    cleaned = _check_length(text, "Try /pause 3 days, or /pause for a pause until /resume.")
    if not cleaned:
        return None
    if match := _PAUSE.fullmatch(cleaned):
        days = int(match["n"]) * (7 if (match["unit"] or "d").startswith("w") else 1)
        if 1 <= days <= 365:
            return days
    raise UserError(
        f"I couldn't read “{_clip(text.strip())}” as a number of days (1 to 365). "
        "Try /pause 3 days, or /pause for a pause until /resume."
    )


# ---- Days a promise is due by: "fri", "tomorrow", "12 dec" -------------------------------------

MAX_AHEAD = 365  # a promise is small: due within a year
_DUE_EXAMPLE = "Try by fri, by tomorrow, by next week or by 12 dec."
_MONTHS = {
    name: index
    for index, full in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        1,
    )
    for name in (full, full[:3])
} | {"sept": 9}
_ORDINAL = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
_MONTH = r"(?P<m>[a-z]{3,9})\.?"
_DAY_MONTH = re.compile(rf"{_ORDINAL}\s*(?:of\s+)?{_MONTH}")
_MONTH_DAY = re.compile(rf"{_MONTH}\s*{_ORDINAL}")
_ISO_DAY = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
_IN_SPAN = re.compile(r"in\s+(?P<n>\d{1,3}|an?|one|two|three)\s+(?P<unit>days?|weeks?)")
_SMALL_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}
# Words that start a day. After "by", anything else is part of the promise ("stand by you").
_DAY_STARTS = frozenset(
    {"today", "tonight", "tomorrow", "tmrw", "next", "weekend", "the", "this", "in", "end"}
    | set(_DAY_WORDS)
    | set(_MONTHS)
)
_BY = re.compile(r"(?:^|\s+)by\s+", re.IGNORECASE)


def parse_due_day(text: str, today: date) -> date:
    """The local date a promise is due by: "fri" (this coming Friday, today if it is one),
    "next fri", "today", "tomorrow", "the weekend", "next week", "in 3 days", "12 dec",
    "dec 12th", "2026-12-12". A date already past this year is next year's."""
    cleaned = _check_length(text, _DUE_EXAMPLE).strip(" .!,")
    day = _due_day(cleaned, today)
    if day is None:
        raise UserError(f"I couldn't read “{_clip(text.strip())}” as a day. {_DUE_EXAMPLE}")
    if day < today:
        raise UserError(f"{day_name(day)} has already been. {_DUE_EXAMPLE}")
    if (day - today).days > MAX_AHEAD:
        raise UserError(
            f"That's more than a year away; a promise here is something small and near. "
            f"{_DUE_EXAMPLE}"
        )
    return day


def day_name(day: date) -> str:
    return day.strftime("%a %d %b").replace(" 0", " ")


def _due_day(cleaned: str, today: date) -> date | None:
    cleaned = cleaned.removeprefix("the ").removeprefix("this ")
    if cleaned in ("today", "tonight", "end of today", "end of the day"):
        return today
    if cleaned in ("tomorrow", "tmrw", "tomorrow night", "tomorrow evening"):
        return today + timedelta(days=1)
    if cleaned in ("next week", "a week", "end of next week"):
        return today + timedelta(days=7)
    if cleaned in ("weekend", "end of the week", "end of week"):
        return today + timedelta(days=(5 - today.weekday()) % 7 if today.weekday() != 6 else 0)
    following = cleaned.startswith("next ")
    word = cleaned.removeprefix("next ").strip()
    if word in _DAY_WORDS:
        ahead = (_DAY_WORDS[word] - today.weekday()) % 7
        return today + timedelta(days=ahead + (7 if following and ahead == 0 else 0))
    if following:
        return None
    if match := _IN_SPAN.fullmatch(cleaned):
        count = _SMALL_NUMBERS.get(match["n"]) or int(match["n"])
        return today + timedelta(days=count * (7 if match["unit"].startswith("w") else 1))
    if match := _ISO_DAY.fullmatch(cleaned):
        return _date(int(match["y"]), int(match["m"]), int(match["d"]))
    match = _DAY_MONTH.fullmatch(cleaned) or _MONTH_DAY.fullmatch(cleaned)
    if match is None or match["m"] not in _MONTHS:
        return None
    month, day_of_month = _MONTHS[match["m"]], int(match["d"])
    this_year = _date(today.year, month, day_of_month)
    if this_year is None and not (month == 2 and day_of_month == 29):
        return None
    if this_year is not None and this_year >= today:
        return this_year
    for year in range(today.year + 1, today.year + 5):  # 29 Feb: the next leap year
        if (found := _date(year, month, day_of_month)) is not None:
            return found
    return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def split_due(text: str, today: date) -> tuple[str, date | None]:
    """ "plan Saturday's walk by fri" -> ("plan Saturday's walk", Friday). A "by" followed by
    something that is not a day stays in the words ("stand by you"); one followed by a day that
    cannot be read ("by 31 feb") is a UserError with an example."""
    matches = list(_BY.finditer(text))
    if not matches:
        return text.strip(), None
    last = matches[-1]
    tail = text[last.end() :].strip()
    first = tail.split(None, 1)[0].lower().strip(".,!") if tail else ""
    if not (first[:1].isdigit() or first in _DAY_STARTS):
        return text.strip(), None
    return text[: last.start()].strip(), parse_due_day(tail, today)
