"""/support <country>: a country's name, its ISO code or a common name picks its helplines; words
that name no country still get every bit of help, with an example of how to name one; without a
country the timezone decides, as before. Answered privately, as every /support is.

The chats: HOME is the couple's group (typed replies there are public, as on Telegram); dm(ALICE)
is Alice's private chat with Tandem.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content import Library, default_content_dir, load_content
from bot.crisis.helplines import ELSEWHERE, HeadedKind, country_named
from bot.crisis.texts import UNKNOWN_COUNTRY, Safety
from bot.safety.replies import COMMANDS
from bot.service import SORRY, Tandem
from tests.conftest import build
from tests.fakes import ALICE, HOME, FakeMessenger, FixedClock, said
from tests.test_safety import support_in
from tests.test_two_voices import dm, pair, privately, start_code

DANGER = "🆘 In danger right now?"
DIRECTORY = "findahelpline.com"

# What each country's answer must hold (its emergency number and a line of its own), and what
# it must not (another country's numbers).
COUNTRIES = {
    "Germany": ("Call 112 (police: 110)", "116 016", "0800 111 0 111"),
    "DE": ("Call 112 (police: 110)", "116 016", "0800 111 0 111"),
    "Deutschland": ("Call 112 (police: 110)", "116 016", "0800 111 0 111"),
    "UK": ("Call 999", "0808 2000 247", "116 123"),
    "Britain": ("Call 999", "0808 2000 247", "116 123"),
    "india": ("Call 112", "call 181", "14416"),
    "USA": ("Call 911", "1-800-799-7233", "call or text 988"),
    "the Netherlands": ("Call 112", "0800 2000", "0800 0113"),
    "fr": ("Call 112 (police: 17)", "3919", "3114"),
}
NOT_THERE = {
    "Germany": ("988", "999", "0808 2000 247"),
    "DE": ("988", "999", "0808 2000 247"),
    "Deutschland": ("988", "999"),
    "UK": ("988", "911", "116 016"),
    "Britain": ("988", "911"),
    "india": ("988", "999", "0808 2000 247"),
    "USA": ("999", "116 123", "116 016"),
    "the Netherlands": ("988", "999"),
    "fr": ("988", "999", "116 016"),
}


@cache
def _safety() -> Safety:
    return load_content(default_content_dir()).safety


# ---- The country picks the lines --------------------------------------------------------------


@pytest.mark.parametrize("country", sorted(COUNTRIES))
async def test_support_with_a_country_gives_that_countrys_lines(lite: Tandem, country: str) -> None:
    await pair(lite, ALICE)
    await lite.handle(said(ALICE, "/timezone UTC"))  # the timezone says nothing of the country
    [answer] = await lite.handle(privately(ALICE, f"/support {country}"))
    assert answer.to == dm(ALICE) and answer.protect
    assert answer.text.startswith(DANGER)  # danger first, as always
    for words in COUNTRIES[country]:
        assert words in answer.text, words
    for words in NOT_THERE[country]:
        assert words not in answer.text, words
    assert ", as you asked." in answer.text and DIRECTORY in answer.text
    assert "couples counselling isn't advised" in answer.text  # the general text, as ever
    assert UNKNOWN_COUNTRY not in answer.text


async def test_a_country_beats_the_timezone(lite: Tandem) -> None:
    await pair(lite, ALICE)
    await lite.handle(said(ALICE, "/timezone London"))
    [answer] = await lite.handle(privately(ALICE, "/support India"))
    assert "14416" in answer.text and "These are the lines for India, as you asked." in answer.text
    assert "0808 2000 247" not in answer.text and "Call 999" not in answer.text


async def test_a_known_country_without_lines_of_its_own_gets_the_directory(lite: Tandem) -> None:
    await pair(lite, ALICE)
    await lite.handle(said(ALICE, "/timezone London"))
    [answer] = await lite.handle(privately(ALICE, "/support Peru"))
    assert answer.text.startswith(f"{DANGER} Call your local emergency number.")
    assert "I don't have lines of my own for Peru yet" in answer.text
    assert "choose Peru" in answer.text and DIRECTORY in answer.text
    assert "0808 2000 247" not in answer.text  # not the UK's: they said they are in Peru


# ---- A country it doesn't know ----------------------------------------------------------------


@pytest.mark.parametrize("typed", ["Atlantis", "Germnay", "me", "123", "🙂", "the moon please"])
async def test_an_unknown_country_is_answered_kindly_with_an_example_and_still_helps(
    lite: Tandem, typed: str
) -> None:
    await pair(lite, ALICE)
    await lite.handle(said(ALICE, "/timezone Berlin"))
    [answer] = await lite.handle(privately(ALICE, f"/support {typed}"))
    assert answer.to == dm(ALICE) and answer.protect
    assert answer.text.startswith(f"{DANGER} Call 112")
    assert "I don't know that country. Try /support Germany or /support DE." in answer.text
    # Still every bit of help: the timezone's lines, the general text and the directory.
    assert "116 016" in answer.text and "I assumed Germany from your timezone" in answer.text
    assert "couples counselling isn't advised" in answer.text and DIRECTORY in answer.text
    assert SORRY not in answer.text


async def test_an_unknown_country_with_no_timezone_country_gets_the_lines_for_anywhere(
    lite: Tandem,
) -> None:
    await pair(lite, ALICE)
    await lite.handle(said(ALICE, "/timezone UTC"))
    [answer] = await lite.handle(privately(ALICE, "/support Narnia"))
    assert answer.text.startswith(f"{DANGER} Call your local emergency number.")
    assert UNKNOWN_COUNTRY in answer.text and DIRECTORY in answer.text


async def test_words_of_danger_after_support_are_not_called_an_unknown_country(
    lite: Tandem,
) -> None:
    await pair(lite, ALICE)
    await lite.handle(said(ALICE, "/timezone London"))
    [answer] = await lite.handle(privately(ALICE, "/support I'm scared of him"))
    assert answer.text.startswith(f"{DANGER} Call 999") and "0808 2000 247" in answer.text
    assert "I don't know that country" not in answer.text


# ---- Without a country, the timezone decides, as before --------------------------------------


@pytest.mark.parametrize(
    ("place", "zone", "expected", "unexpected"),
    [
        ("Berlin", "Europe/Berlin", ["Call 112 (police: 110)", "116 016"], ["988", "999"]),
        ("Mumbai", "Asia/Kolkata", ["Call 112", "call 181", "14416"], ["988", "999"]),
        ("Sydney", "Australia/Sydney", ["Call 000", "1800 737 732", "13 11 14"], ["988"]),
        ("New York", "America/New_York", ["Call 911", "call or text 988"], ["999", "116 016"]),
    ],
)
async def test_without_a_country_the_timezone_picks_the_region(
    lite: Tandem, place: str, zone: str, expected: list[str], unexpected: list[str]
) -> None:
    answer = await support_in(lite, place, zone)
    assert answer.text.startswith(DANGER)
    for words in expected:
        assert words in answer.text, words
    for words in unexpected:
        assert words not in answer.text, words
    assert f"from your timezone {zone}" in answer.text
    assert "Send /support with your country (like /support DE)" in answer.text
    assert UNKNOWN_COUNTRY not in answer.text


# ---- Privately, as every /support ------------------------------------------------------------


async def test_support_with_a_country_in_the_shared_chat_is_answered_privately(
    lite: Tandem,
) -> None:
    await pair(lite, ALICE)
    await lite.handle(said(ALICE, "/timezone London"))
    replies = await lite.handle(said(ALICE, "/support Germany"))  # typed in the group
    [answer] = [r for r in replies if r.to == dm(ALICE)]
    [neutral] = [r for r in replies if r.to == HOME]
    assert len(replies) == 2 and answer.protect and "116 016" in answer.text
    assert neutral.text == "🔒 I've answered in your private chat with me."


async def test_support_with_a_country_and_no_private_chat_carries_it_through_the_button(
    lite: Tandem,
) -> None:
    await lite.handle(said(ALICE, "/start"))
    await lite.handle(said(ALICE, "/timezone Dublin"))
    [neutral] = await lite.handle(said(ALICE, "/support Germany"))
    assert neutral.to == HOME and "116 016" not in neutral.text and "Germany" not in neutral.text
    code = start_code(neutral)
    assert code == "support-de"
    [answer] = await lite.handle(privately(ALICE, f"/start {code}"))
    assert answer.to == dm(ALICE) and answer.protect
    assert "116 016" in answer.text and "1800 341 900" not in answer.text
    assert "These are the lines for Germany, as you asked." in answer.text
    # A country without lines of its own goes through the button too.
    [neutral] = await lite.handle(said(ALICE, "/support Peru"))
    [answer] = await lite.handle(privately(ALICE, f"/start {start_code(neutral)}"))
    assert "I don't have lines of my own for Peru yet" in answer.text


async def test_a_timezone_button_still_says_it_came_from_the_shared_chat(lite: Tandem) -> None:
    await lite.handle(said(ALICE, "/start"))
    await lite.handle(said(ALICE, "/timezone Berlin"))
    [neutral] = await lite.handle(said(ALICE, "/support"))
    assert start_code(neutral) == "support-DE"
    [answer] = await lite.handle(privately(ALICE, "/start support-DE"))
    assert "I assumed Germany from your shared chat's timezone" in answer.text


async def test_support_with_a_country_on_discord_is_ephemeral(lite: Tandem) -> None:
    await lite.handle(said(ALICE, "/start"))
    [answer] = await lite.handle(said(ALICE, "/support UK", whisper=True))
    assert answer.to == HOME and answer.private
    assert answer.text.startswith(f"{DANGER} Call 999") and "0808 2000 247" in answer.text


def test_the_command_declares_an_optional_country() -> None:
    [support] = COMMANDS
    [option] = support.options
    assert option.name == "country" and not option.required
    assert support.usage == "/support [country]"
    assert support.line(["Germany"]) == "/support Germany"  # as Discord builds it
    assert support.line([None]) == "/support"


# ---- The content ------------------------------------------------------------------------------


def test_at_least_thirty_countries_each_with_an_emergency_line(library: Library) -> None:
    assert library.safety.helplines is not None
    countries = [r for r in library.safety.helplines.region if r.code != ELSEWHERE]
    assert len(countries) >= 30
    for region in countries:
        [emergency] = region.lines("emergency")
        assert emergency.how.startswith("call "), region.code
        assert region.lines("abuse") or region.lines("crisis") or region.code == "NG", region.code


def test_every_country_is_found_by_its_code_its_name_and_its_other_names(
    library: Library,
) -> None:
    helplines = library.safety.helplines
    assert helplines is not None
    listed = helplines.names()
    for region in helplines.region:
        if region.code == ELSEWHERE:
            continue
        for typed in (region.code, region.code.lower(), region.name, *region.also):
            assert country_named(typed, listed) == region.code, typed


def test_a_kind_a_country_lacks_points_to_the_directory(library: Library) -> None:
    safety = library.safety
    assert safety.helplines is not None
    kinds = safety.helplines.kinds
    gaps = 0
    for region in safety.helplines.region:
        if region.code == ELSEWHERE:
            continue
        text = safety.support("GENERAL", None, asked=region.code)
        how = region.lines("emergency")[0].how
        assert text.startswith(f"{DANGER} {how[0].upper()}{how[1:]}.\n\n"), region.code
        headed: tuple[HeadedKind, ...] = ("abuse", "crisis")
        missing = [k for k in headed if not region.lines(k)]
        for kind in headed:
            for line in region.lines(kind):
                assert line.how in text
        if missing:
            gaps += 1
            heading = kinds[missing[0]] if len(missing) == 1 else kinds["directory"]
            pointer = f"{heading}\n• Find A Helpline: at {DIRECTORY}, choose {region.name}"
            assert pointer in text, region.code
    assert gaps  # some countries do lack a kind: the check above checked something


# ---- Fuzzing the country ----------------------------------------------------------------------

PIECES = ["Germany", "DE", "de", "UK", "the", "in", "for", "U.S.A.", "india", "Peru", "me", "🙂",
          "’", "'", ".", "-", "\n", "\u200b", "é", "Deutschland", "日本", "he", "hit", "scared",
          "of", "him", "I'm", "  "]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(max_size=300), st.lists(st.sampled_from(PIECES), max_size=12).map(" ".join))
)
def test_any_country_text_gets_help(asked: str) -> None:
    for zone in ("Europe/London", "UTC", None):
        text = _safety().support("GENERAL", zone, asked=asked)
        assert text.startswith(DANGER) and "GENERAL" in text and DIRECTORY in text


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, library: Library
) -> Iterator[tuple[asyncio.AbstractEventLoop, Tandem]]:
    loop = asyncio.new_event_loop()
    path: Path = tmp_path_factory.mktemp("support") / "support.db"
    tandem = loop.run_until_complete(
        build(f"sqlite:///{path}", FixedClock(), FakeMessenger(), library)
    )
    loop.run_until_complete(tandem.handle(said(ALICE, "/start")))
    loop.run_until_complete(tandem.handle(said(ALICE, "/timezone London")))
    yield loop, tandem
    loop.run_until_complete(tandem.store.close())
    loop.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(st.text(max_size=200), st.lists(st.sampled_from(PIECES), max_size=8).map(" ".join))
)
def test_any_support_command_is_answered_with_help_never_an_error(
    running: tuple[asyncio.AbstractEventLoop, Tandem], asked: str
) -> None:
    loop, tandem = running
    # As Discord sends it: only Alice sees the answer.
    replies = loop.run_until_complete(tandem.handle(said(ALICE, f"/support {asked}", whisper=True)))
    [answer] = replies
    assert answer.private and answer.text != SORRY
    assert answer.text.startswith(DANGER) and DIRECTORY in answer.text
