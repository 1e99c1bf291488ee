"""What members type about time is read right, and anything else gets a friendly error."""

from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.timeparse import (
    ALL_DAYS,
    WEEKDAYS,
    format_days,
    parse_days,
    parse_pause,
    parse_time,
    parse_zone,
    zone_suggestions,
)


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
