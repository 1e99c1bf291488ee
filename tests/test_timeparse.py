"""What members type about time is read right, and anything else gets a friendly error."""

from datetime import date, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.timeparse import (
    ALL_DAYS,
    MAX_AHEAD,
    WEEKDAYS,
    format_days,
    parse_days,
    parse_due_day,
    parse_pause,
    parse_time,
    parse_zone,
    split_due,
    zone_suggestions,
)
from bot.zonenames import ZoneChoice


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("20:30", time(20, 30)),
        ("8pm", time(20, 0)),
        ("8:30 pm", time(20, 30)),
        ("8.30PM", time(20, 30)),
        ("8 a.m.", time(8, 0)),
        ("12am", time(0, 0)),
        ("12pm", time(12, 0)),
        ("07:05", time(7, 5)),
        ("noon", time(12, 0)),
        ("midnight", time(0, 0)),
        ("23:59", time(23, 59)),
    ],
)
def test_times_people_type(typed: str, expected: time) -> None:
    assert parse_time(typed) == expected


@pytest.mark.parametrize("typed", ["25:99", "24:00", "13pm", "0am", "8:60", "tonight", "", "8:3"])
def test_impossible_times_get_an_example(typed: str) -> None:
    with pytest.raises(UserError, match="20:30, 8pm or 8:30 pm"):
        parse_time(typed)


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("daily", "every day"),
        ("", "every day"),
        ("weekdays", "on weekdays"),
        ("weekends", "on weekends"),
        ("mon,wed,fri", "on Mon, Wed, Fri"),
        ("Monday Thursday", "on Mon, Thu"),
        ("mon-fri", "on weekdays"),
        ("fri-sun", "on Fri, Sat, Sun"),
    ],
)
def test_days(typed: str, words: str) -> None:
    assert format_days(parse_days(typed)) == words


@pytest.mark.parametrize("typed", ["someday", "mon,funday", "m", "mon-tue-wed"])
def test_bad_days_get_an_example(typed: str) -> None:
    with pytest.raises(UserError, match="mon,wed,fri"):
        parse_days(typed)


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("Munich", "Europe/Berlin"),
        ("Mumbai", "Asia/Kolkata"),
        ("UTC+5:30", "UTC+05:30"),
        ("utc-3", "UTC-03:00"),
        ("+0545", "UTC+05:45"),
        ("GMT", "UTC"),
    ],
)
def test_zones_cities_and_offsets(typed: str, zone: str) -> None:
    assert parse_zone(typed).name == zone


@pytest.mark.parametrize("typed", ["Mars/Olympus", "Narnia", "UTC+15", "UTC+5:17", "x" * 500])
def test_unknown_zones_get_an_example(typed: str) -> None:
    with pytest.raises(UserError, match="Europe/Berlin"):
        parse_zone(typed)


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("EST", "America/New_York"),
        ("edt", "America/New_York"),
        ("PST", "America/Los_Angeles"),
        ("CST", "America/Chicago"),
        ("MST", "America/Denver"),
        ("CET", "Europe/Berlin"),
        ("EET", "Europe/Athens"),
        ("BST", "Europe/London"),
        ("IST", "Asia/Kolkata"),
        ("AEST", "Australia/Sydney"),
    ],
)
def test_abbreviations_are_the_zone_people_mean_and_say_so(typed: str, zone: str) -> None:
    found = parse_zone(typed)
    assert found.name == zone
    assert typed.upper() in found.note and zone in found.note


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("UK", "Europe/London"),
        ("India", "Asia/Kolkata"),
        ("germany", "Europe/Berlin"),
        ("Paris, France", "Europe/Paris"),
        ("Portland, Oregon", "America/Los_Angeles"),
        ("Portland, ME", "America/New_York"),
        ("Birmingham, UK", "Europe/London"),
        ("Valencia, Spain", "Europe/Madrid"),
        ("Japan", "Asia/Tokyo"),
    ],
)
def test_countries_with_one_zone_and_city_country(typed: str, zone: str) -> None:
    assert parse_zone(typed).name == zone


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        ("Springfield", ["Springfield, Missouri", "Springfield, Massachusetts"]),
        ("Portland", ["Portland, Oregon", "Portland, Maine"]),
        ("United States", ["New York City", "Los Angeles"]),
    ],
)
def test_an_ambiguous_place_offers_the_likely_ones(typed: str, offered: list[str]) -> None:
    with pytest.raises(ZoneChoice, match="Try") as raised:
        parse_zone(typed)
    labels = [place.label for place in raised.value.choices]
    assert labels[: len(offered)] == offered
    assert 2 <= len(labels) <= 5


@pytest.mark.parametrize("typed", ["Paris, Narnia", "Atlantis, France", ", France", "Paris,"])
def test_unknown_city_or_country_gets_an_example(typed: str) -> None:
    with pytest.raises(UserError, match="Paris, France"):
        parse_zone(typed)


def test_pause_lengths() -> None:
    assert parse_pause("") is None
    assert parse_pause("3") == 3
    assert parse_pause("3 days") == 3
    assert parse_pause("2 weeks") == 14
    for bad in ("0", "forever", "400 days", "-1"):
        with pytest.raises(UserError, match="/pause 3 days"):
            parse_pause(bad)


def test_autocomplete_offers_zones_by_city() -> None:
    assert "Europe/Berlin" in zone_suggestions("berl")
    assert zone_suggestions("new y")[0] == "America/New_York"
    assert len(zone_suggestions("")) == 25


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_parsers_return_a_value_or_a_user_error(text: str) -> None:
    for parser in (parse_time, parse_days, parse_zone, parse_pause):
        try:
            parser(text)
        except UserError as err:
            assert "Try" in err.message or "try" in err.message


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 23), st.integers(0, 59))
def test_every_24h_time_round_trips(hour: int, minute: int) -> None:
    assert parse_time(f"{hour}:{minute:02d}") == time(hour, minute)


def test_day_sets() -> None:
    assert parse_days("every day") == ALL_DAYS
    assert parse_days("weekday") == WEEKDAYS


# ---- The day a promise is due by ----------------------------------------------------------------

SATURDAY = date(2026, 11, 21)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("fri", date(2026, 11, 27)),
        ("Friday", date(2026, 11, 27)),
        ("sat", SATURDAY),  # "by saturday" on a Saturday: today
        ("next sat", date(2026, 11, 28)),
        ("today", SATURDAY),
        ("tonight", SATURDAY),
        ("tomorrow", date(2026, 11, 22)),
        ("the weekend", SATURDAY),
        ("next week", date(2026, 11, 28)),
        ("in 3 days", date(2026, 11, 24)),
        ("in two weeks", date(2026, 12, 5)),
        ("12 dec", date(2026, 12, 12)),
        ("12th December", date(2026, 12, 12)),
        ("dec 12", date(2026, 12, 12)),
        ("1 jan", date(2027, 1, 1)),  # already past this year: next year's
        ("2026-12-24", date(2026, 12, 24)),
    ],
)
def test_due_days_people_type(typed: str, expected: date) -> None:
    assert parse_due_day(typed, SATURDAY) == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("31 feb", "by fri, by tomorrow"),
        ("dec 32", "by fri, by tomorrow"),
        ("next", "by fri, by tomorrow"),
        ("someday", "by fri, by tomorrow"),
        ("2026-01-01", "has already been"),
        ("2028-01-01", "more than a year away"),
        ("29 feb", "more than a year away"),  # the next one is in 2028
    ],
)
def test_bad_due_days_get_an_example(typed: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_due_day(typed, SATURDAY)


@pytest.mark.parametrize(
    ("typed", "what", "by"),
    [
        ("plan Saturday's walk by fri", "plan Saturday's walk", date(2026, 11, 27)),
        ("stand by you", "stand by you", None),  # not a day: part of the promise
        ("drop by Mum's by tomorrow", "drop by Mum's", date(2026, 11, 22)),
        ("text you when I'm late", "text you when I'm late", None),
        ("by 12 dec", "", date(2026, 12, 12)),
    ],
)
def test_a_promise_and_its_day(typed: str, what: str, by: date | None) -> None:
    assert split_due(typed, SATURDAY) == (what, by)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80), st.dates(date(2000, 1, 1), date(2100, 1, 1)))
def test_fuzz_due_days_are_within_a_year_or_a_user_error(text: str, today: date) -> None:
    for typed in (text, f"by {text}", f"call Mum by {text}"):
        try:
            what, day = split_due(typed, today)
        except UserError as err:
            assert "Try" in err.message
            continue
        assert day is None or 0 <= (day - today).days <= MAX_AHEAD
        assert what in typed


@settings(max_examples=300, deadline=None)
@given(
    st.dates(date(2000, 1, 1), date(2100, 1, 1)),
    st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
    st.integers(1, 28),
    st.sampled_from(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct"]),
)
def test_fuzz_weekdays_and_dates_land_right(today: date, day: str, dom: int, month: str) -> None:
    weekday = parse_due_day(day, today)
    assert 0 <= (weekday - today).days < 7 and weekday.strftime("%a").lower() == day
    dated = parse_due_day(f"{dom} {month}", today)
    assert dated.day == dom and dated.strftime("%b").lower() == month
    assert 0 <= (dated - today).days <= MAX_AHEAD
