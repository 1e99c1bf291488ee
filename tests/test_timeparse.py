"""What members type about time is read right, and anything else gets a friendly error."""

from datetime import date, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.timeparse import (
    ALL_DAYS,
    WEEKDAYS,
    format_days,
    latest_due,
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
        ("the 12th", date(2026, 12, 12)),  # this month's is gone: next month's
        ("the 30th", date(2026, 11, 30)),
        ("the end of the month", date(2026, 11, 30)),
        ("this evening", SATURDAY),
        ("tomorrow morning", date(2026, 11, 22)),
        ("fri evening", date(2026, 11, 27)),
        ("tomorow", date(2026, 11, 22)),
        ("within 3 days", date(2026, 11, 24)),
        ("in 2 months", date(2027, 1, 21)),
        ("in 12 months", date(2027, 11, 21)),  # the horizon itself
        ("in a year", date(2027, 11, 21)),
        ("in 365 days", date(2027, 11, 21)),
        ("12 oct", date(2027, 10, 12)),  # gone more than a month ago: next year's
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
        ("yesterday", "“yesterday” has already been; a promise is for today or a day still"),
        ("last fri", "“last fri” has already been"),
        ("3 days ago", "has already been"),
        ("20 nov", "Fri 20 Nov has already been"),  # just gone: a slip, not next year's
        (
            "in 400 days",
            "more than a year away: a promise here is something small and near, "
            "due by Sun 21 Nov 2027 at the latest. Try by fri",
        ),
        ("in 366 days", "more than a year away"),
        ("in 13 months", "more than a year away"),
        ("in 2 years", "more than a year away"),
        ("in 99999999999999999999 days", "more than a year away"),
        ("blursday", "I couldn't read “blursday” as a day. Try by fri"),
        ("the 32nd", "by fri, by tomorrow"),
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
        # A "by" that does not try to say a day is the promise's own words.
        ("x by banana", "x by banana", None),
        ("drop by your mum's", "drop by your mum's", None),
        ("sit with you by the lake", "sit with you by the lake", None),
        ("go to work by bike", "go to work by bike", None),
        ("learn our song by heart", "learn our song by heart", None),
        ("drop by someday", "drop by someday", None),
        ("stand by Augusta", "stand by Augusta", None),
        ("be ready by Friday's party", "be ready by Friday's party", None),
        ("stand by this", "stand by this", None),
        # A span that ends the words is the day, with or without a "by" before it.
        ("call the bank in 3 days", "call the bank", date(2026, 11, 24)),
        ("drop by in a week", "drop by", date(2026, 11, 28)),
        ("stand by you in 2 weeks", "stand by you", date(2026, 12, 5)),
        ("call Mum twice in a week", "call Mum twice in a week", None),  # how often
        ("hug you 3 times in 2 days", "hug you 3 times in 2 days", None),
        ("book it by the weekend", "book it", SATURDAY),
        ("book it by this evening", "book it", SATURDAY),
        ("book it by the end of the week", "book it", SATURDAY),
    ],
)
def test_a_promise_and_its_day(typed: str, what: str, by: date | None) -> None:
    assert split_due(typed, SATURDAY) == (what, by)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("plan a walk by yesterday", "“yesterday” has already been"),
        ("plan a walk by last night", "“last night” has already been"),
        ("call the bank in 400 days", "“in 400 days” is more than a year away"),
        ("call the bank by in 400 days", "more than a year away"),
        ("call the bank within 2 years", "more than a year away"),
        ("x by blursday", "I couldn't read “blursday” as a day"),
        ("x by next blursday", "I couldn't read “next blursday” as a day"),
        ("x by wensday", "I couldn't read “wensday” as a day"),
        ("x by febuary 3", "I couldn't read “febuary 3” as a day"),
        ("x by payday", "I couldn't read “payday” as a day"),
        ("x by the 12th of never", "I couldn't read"),
        ("x by 31 feb", "I couldn't read “31 feb” as a day"),
    ],
)
def test_a_day_that_cannot_be_read_gone_or_too_far_is_refused(typed: str, message: str) -> None:
    with pytest.raises(UserError, match=message) as refused:
        split_due(typed, SATURDAY)
    assert "Try by fri, by tomorrow, by next week, by 12 dec or in 3 days." in refused.value.message


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80), st.dates(date(2000, 1, 1), date(2100, 1, 1)))
def test_fuzz_due_days_are_within_a_year_or_a_user_error(text: str, today: date) -> None:
    for typed in (text, f"by {text}", f"call Mum by {text}", f"call Mum in {text}"):
        try:
            what, day = split_due(typed, today)
        except UserError as err:
            assert "Try" in err.message
            continue
        assert day is None or today <= day <= latest_due(today)
        assert what in typed


DAY_ATTEMPTS = (
    "yesterday",
    "last fri",
    "blursday",
    "next blursday",
    "31 feb",
    "the 32nd",
    "tomorow",
    "febuary 3",
    "2 weeks ago",
    "the weekend",
)


@settings(max_examples=300, deadline=None)
@given(
    st.dates(date(2000, 1, 1), date(2100, 1, 1)),
    st.text(st.characters(codec="ascii"), max_size=30),
    st.one_of(
        st.sampled_from(DAY_ATTEMPTS).map(lambda attempt: f" by {attempt}"),
        st.integers(0, 10**6).map(lambda n: f" in {n} days"),
        st.integers(0, 10**4).map(lambda n: f" by in {n} weeks"),
    ),
)
def test_fuzz_a_day_tried_is_read_or_refused_never_kept_as_words(
    today: date, what: str, tried: str
) -> None:
    """Whatever comes before it, a day the words try to say is never silently part of them."""
    try:
        words, day = split_due(what + tried, today)
    except UserError as err:
        assert "Try by fri" in err.message
        return
    if day is None:  # "twice in 3 days", "3 times in 3 days": how often, not when
        assert tried.startswith(" in") and what.lower().split()[-1] in ("once", "twice", "times")
        return
    assert today <= day <= latest_due(today)
    assert words == (what + (" by" if tried.startswith(" by in") else "")).strip()


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
    this_year = date(
        today.year,
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct"].index(month) + 1,
        dom,
    )
    if today - timedelta(days=31) <= this_year < today:  # just gone: a slip, refused
        with pytest.raises(UserError, match="has already been"):
            parse_due_day(f"{dom} {month}", today)
        return
    dated = parse_due_day(f"{dom} {month}", today)
    assert dated.day == dom and dated.strftime("%b").lower() == month
    assert today <= dated <= latest_due(today)
