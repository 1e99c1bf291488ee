"""Reads what members type about time: "8pm", "weekdays", "Europe/Berlin", "UTC+5:30", "3 days"."""

from __future__ import annotations

import calendar
import difflib
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


# ---- Days a promise is due by: "fri", "tomorrow", "12 dec", "in 3 days" -----------------------

MAX_AHEAD = 366  # days: a promise is small, due by the same date next year at the latest
_DUE_EXAMPLE = "Try by fri, by tomorrow, by next week, by 12 dec or in 3 days."
_MONTH_NAMES = (
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
)
_MONTHS = {
    name: index for index, full in enumerate(_MONTH_NAMES, 1) for name in (full, full[:3])
} | {"sept": 9}
_ORDINAL = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
_MONTH = r"(?P<m>[a-z]{3,9})\.?"
_DAY_MONTH = re.compile(rf"{_ORDINAL}\s*(?:of\s+)?{_MONTH}")
_MONTH_DAY = re.compile(rf"{_MONTH}\s*{_ORDINAL}")
_NTH = re.compile(r"(?P<d>\d{1,2})(?:st|nd|rd|th)")
_ISO_DAY = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_NUMBERS = {"a": 1, "an": 1} | {word: n for n, word in enumerate(_NUMBER_WORDS, 1)}
_COUNT = rf"(?P<n>\d+|{'|'.join(_NUMBERS)})"
_UNIT = r"(?P<unit>days?|weeks?|months?|years?)"
_IN_SPAN = re.compile(rf"(?:in|within)\s+{_COUNT}\s+{_UNIT}")
# "call the bank in 3 days": a span that ends the words is the day, without a "by"; after
# "twice", "3 times" it says how often ("call Mum twice in a week") and stays in the words.
_TRAILING_SPAN = re.compile(
    rf"(?:^|\s+)(?P<span>(?:in|within)\s+{_COUNT}\s+{_UNIT})[\s.!]*$", re.IGNORECASE
)
_HOW_OFTEN = ("once", "twice", "thrice", "times")
_TODAY = ("today", "tonight", "tonite", "midday", "noon", "eod", "end of today", "end of day")
_TOMORROW = ("tomorrow", "tmrw", "tmr", "tomorow", "tommorow", "tommorrow")
_PARTS_OF_DAY = ("morning", "afternoon", "evening", "night")
_EVENINGS = [[part] for part in _PARTS_OF_DAY]  # "by this evening"
# The words that try to say a day: after "by", anything else is part of the promise
# ("stand by you", "drop by your mum's", "by the lake", "go by bike").
_DAY_ATTEMPTS = frozenset(
    {"next", "last", "yesterday", "weekend", *_TODAY, *_TOMORROW, *_DAY_WORDS, *_MONTHS}
)
_LONG_DAY_WORDS = (  # close enough to these is a misspelt day: "febuary", "tomorow"
    *_FULL_DAYS,
    *(m for m in _MONTH_NAMES if len(m) > 5),
    "tomorrow",
    "tonight",
    "yesterday",
    "weekend",
)
_NOT_DAYS = frozenset({"someday", "everyday", "heyday"})  # "drop by someday" is words
_BY = re.compile(r"(?<!\S)by\s+", re.IGNORECASE)
_AHEAD = "a promise is for today or a day still to come"


def latest_due(today: date) -> date:
    """The horizon: a promise is due by the same date next year at the latest (28 Feb for 29 Feb)."""
    return _date(today.year + 1, today.month, today.day) or date(today.year + 1, 2, 28)


def parse_due_day(text: str, today: date) -> date:
    """The local date a promise is due by: "fri" (this coming Friday, today if it is one),
    "next fri", "today", "tomorrow", "the weekend", "next week", "in 3 days", "in 2 months",
    "the 12th", "12 dec", "dec 12th", "2026-12-12". A date that passed this year more than a
    month ago is next year's ("1 jan" in November); a day already gone ("yesterday", "last fri",
    "3 dec" on 4 Dec) or beyond the horizon is a UserError."""
    cleaned = _check_length(text, _DUE_EXAMPLE).strip(" .!?,")
    typed = _clip(text.strip())
    if (
        cleaned == "yesterday"
        or cleaned.startswith(("yesterday ", "last "))
        or cleaned.endswith(" ago")
    ):
        raise UserError(f"“{typed}” has already been; {_AHEAD}. {_DUE_EXAMPLE}")
    day = _due_day(cleaned, today)
    if day is None:
        raise UserError(f"I couldn't read “{typed}” as a day. {_DUE_EXAMPLE}")
    if day < today:
        raise UserError(f"{day_name(day)} has already been; {_AHEAD}. {_DUE_EXAMPLE}")
    if day > (latest := latest_due(today)):
        raise UserError(
            f"“{typed}” is more than a year away: a promise here is something small and near, "
            f"due by {day_name(latest)} {latest.year} at the latest. {_DUE_EXAMPLE}"
        )
    return day


def day_name(day: date) -> str:
    return day.strftime("%a %d %b").replace(" 0", " ")


def _due_day(cleaned: str, today: date) -> date | None:
    cleaned = cleaned.removeprefix("the ").removeprefix("this ")
    if cleaned in _PARTS_OF_DAY:  # "this evening"
        return today
    for part in _PARTS_OF_DAY:  # "tomorrow night", "fri evening": the day is enough
        cleaned = cleaned.removesuffix(f" {part}")
    if cleaned in (*_TODAY, "end of the day"):
        return today
    if cleaned in _TOMORROW:
        return today + timedelta(days=1)
    if cleaned in ("next week", "a week", "end of next week"):
        return today + timedelta(days=7)
    if cleaned in ("end of the month", "end of month", "end of this month"):
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
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
        return _after(today, _NUMBERS.get(match["n"]) or int(match["n"]), match["unit"])
    if match := _NTH.fullmatch(cleaned):
        return _nth(today, int(match["d"]))
    if match := _ISO_DAY.fullmatch(cleaned):
        return _date(int(match["y"]), int(match["m"]), int(match["d"]))
    match = _DAY_MONTH.fullmatch(cleaned) or _MONTH_DAY.fullmatch(cleaned)
    if match is None or match["m"] not in _MONTHS:
        return None
    month, day_of_month = _MONTHS[match["m"]], int(match["d"])
    this_year = _date(today.year, month, day_of_month)
    if this_year is None and not (month == 2 and day_of_month == 29):
        return None
    if this_year is not None and (this_year - today).days >= -31:
        return this_year  # a date just gone is a slip, not next year's: it is refused
    for year in range(today.year + 1, today.year + 5):  # 29 Feb: the next leap year
        if (found := _date(year, month, day_of_month)) is not None:
            return found
    return None


def _after(today: date, count: int, unit: str) -> date:
    """`count` days, weeks, months or years on (a month on from 31 Jan is the end of February);
    anything past the horizon is clipped to just past it, never an overflow."""
    if unit.startswith(("day", "week")):
        return today + timedelta(days=min(count * (7 if unit[0] == "w" else 1), MAX_AHEAD + 1))
    months = min(count * (12 if unit[0] == "y" else 1), 13)
    years, month = divmod(today.month - 1 + months, 12)
    year = today.year + years
    return date(year, month + 1, min(today.day, calendar.monthrange(year, month + 1)[1]))


def _nth(today: date, day_of_month: int) -> date | None:
    """ "the 12th": this month's if it is still to come, else the next month's that has one."""
    year, month = today.year, today.month
    for _ in range(3):
        if (found := _date(year, month, day_of_month)) is not None and found >= today:
            return found
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _tries_a_day(words: list[str]) -> bool:
    """Whether the words after a promise's last "by" try to say a day, readable or not: a day's
    name or one close to it ("blursday", "febuary"), a number, today, next..., last..., in 3
    days, the weekend. "by Friday's party" and "by the lake" are the promise's own words."""
    if not words:
        return False
    first, rest = words[0], words[1:]
    if first in ("the", "this"):
        return _tries_a_day(rest) or rest[:2] == ["end", "of"] or rest[:1] in _EVENINGS
    if first == "end":
        return rest[:1] == ["of"]
    if first in ("in", "within"):  # "drop by in 3 days": the span alone is the day
        return False
    if first.endswith(("'s", "’s")):
        return False
    return (
        first[:1].isdigit()
        or first in _DAY_ATTEMPTS
        or (first.endswith(("day", "days")) and first not in _NOT_DAYS)
        or _misspelt_day(first)
    )


def _misspelt_day(word: str) -> bool:
    """ "febuary", "tomorow", "yesterdy"; not a name that only starts with one ("Augusta")."""
    close = difflib.get_close_matches(word, _LONG_DAY_WORDS, 1, 0.85) if len(word) > 5 else []
    return bool(close) and not word.startswith(close[0])


def split_due(text: str, today: date) -> tuple[str, date | None]:
    """ "plan Saturday's walk by fri" -> ("plan Saturday's walk", Friday); "call the bank in 3
    days" -> ("call the bank", in 3 days). A "by" followed by words that do not try to say a day
    stays in the words ("stand by you"); a day that cannot be read ("by 31 feb", "by blursday"),
    one already gone ("by yesterday") or one past the horizon ("in 400 days") is a UserError with
    an example."""
    if matches := list(_BY.finditer(text)):
        last = matches[-1]
        tail = text[last.end() :].strip()
        words = [w.strip(".,!?") for w in tail.lower().split()]
        if _tries_a_day(words):
            return text[: last.start()].strip(), parse_due_day(tail, today)
    span = _TRAILING_SPAN.search(text)
    if span is None or ["", *text[: span.start()].lower().split()][-1] in _HOW_OFTEN:
        return text.strip(), None
    return text[: span.start()].strip(), parse_due_day(span["span"], today)
