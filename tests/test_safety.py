"""Safety: /support answered privately with the region's helplines, and crisis words in a note,
a promise or a private message met with a gentle private reply that nobody else sees or logs.

The chats: HOME is the couple's group (typed replies there are public, as on Telegram); dm(ALICE)
and dm(BOB) are each one's private chat with Tandem.
"""

from __future__ import annotations

import logging
import shutil
import tomllib
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content import ContentError, Library, default_content_dir, load_content
from bot.crisis.helplines import ELSEWHERE, country_of
from bot.crisis.phrases import expand, words
from bot.crisis.texts import Safety
from bot.logs import setup_logging
from bot.messages import Outgoing
from bot.service import Tandem
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_two_voices import (
    checkin_due,
    couple,
    dm,
    one_linked,
    pair,
    privately,
    start_code,
    tap,
)

CONTENT = default_content_dir()

# ---- The data files ---------------------------------------------------------------------------


def test_every_helpline_names_its_source_and_when_it_was_checked() -> None:
    data = tomllib.loads((CONTENT / "helplines.toml").read_text())
    lines = [line for region in data["region"] for line in region["line"]]
    assert len(lines) >= 8
    for line in lines:
        assert line["source"].startswith("https://"), line["name"]
        assert isinstance(line["checked"], date), line["name"]
        assert line["checked"] <= date(2026, 12, 31), line["name"]
    codes = {region["code"] for region in data["region"]}
    assert {"US", "GB", "IE", ELSEWHERE} <= codes and len(codes) >= 31


@pytest.mark.parametrize(
    ("file", "find", "put", "named"),
    [
        ("helplines.toml", "checked = 2026-12-02", "", "checked"),
        (
            "helplines.toml",
            'source = "https://www.thehotline.org/"',
            'source = "hotline"',
            "source",
        ),
        ("helplines.toml", 'code = "elsewhere"', 'code = "PE"', "elsewhere"),
        ("crisis.toml", '"i want to die",', '"i want to (die",', "unbalanced bracket"),
        ("crisis.toml", '"i want to die",', '"i want to (die|)",', "empty alternative"),
        ("crisis.toml", 'lines = ["emergency", "crisis"]', 'lines = ["hope"]', "lines"),
    ],
)
def test_a_malformed_safety_file_stops_the_content_check_naming_it(
    tmp_path: Path, file: str, find: str, put: str, named: str
) -> None:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    original = (root / file).read_text()
    assert find in original
    (root / file).write_text(original.replace(find, put, 1))
    with pytest.raises(ContentError) as err:
        load_content(root)
    assert file in str(err.value) and named in str(err.value)


def test_a_missing_safety_file_stops_the_content_check(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    (root / "crisis.toml").unlink()
    with pytest.raises(ContentError, match=r"crisis\.toml: missing"):
        load_content(root)


# ---- Crisis words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "need"),
    [
        ("I'm scared of him", "danger"),
        ("I’m so scared of him", "danger"),
        ("honestly i am really afraid of my husband", "danger"),
        ("SHE HIT ME last night", "danger"),
        ("he hurts me", "danger"),
        ("I don't feel safe at home", "danger"),
        ("I don’t feel safe at home anymore", "danger"),
        ("he threatened to kill me", "danger"),
        ("he won't let me see my friends", "control"),
        ("he hit me up, then later he hit me", "danger"),
        ("I'm scared of him hurting me", "danger"),
        ("I want to die", "despair"),
        ("i wanna die", "despair"),
        ("I've been thinking about killing myself", "despair"),
        ("everyone would be better off without me", "despair"),
    ],
)
def test_crisis_phrases_are_found(library: Library, text: str, need: str) -> None:
    assert need in library.safety.needs(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm scared of spiders",
        "this heat is killing me",
        "I could die laughing",
        "I want to die of embarrassment",
        "he hit the gym",
        "he hit me up on Friday",
        "she beat me at chess again",
        "she hurt my feelings",
        "I'm scared of him leaving me",
        "honestly I'm afraid of her finding out",
        "I hate spiders, I'm afraid of them",
        "I was scared and didn't say",
        "I felt safe at home today",
        "the scary part of him is his driving",
        "the kids want to dye their hair",
        "",
    ],
)
def test_everyday_words_are_not_crisis_words(library: Library, text: str) -> None:
    assert library.safety.needs(text) == ()


def test_words_normalise_case_apostrophes_and_contractions() -> None:
    assert words("I’m NOT   ok; don't") == ("i", "am", "not", "ok", "do", "not")
    assert expand("(he|my partner) hit me") == [("he", "hit", "me"), ("my", "partner", "hit", "me")]


@cache
def _safety() -> Safety:
    return load_content(CONTENT).safety


PIECES = [
    "I'm",
    "i’m",
    "he",
    "she",
    "hit",
    "me",
    "up",
    "scared",
    "of",
    "him",
    "want",
    "to",
    "die",
    "laughing",
    "don't",
    "feel",
    "safe",
    "at",
    "home",
    "so",
    "(",
    "|",
    ")",
    "’",
    "'",
    "é",
    "\u200b",
    "\n",
    "🙂",
    "myself",
    "kill",
]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(max_size=400), st.lists(st.sampled_from(PIECES), max_size=40).map(" ".join))
)
def test_the_matcher_never_raises(text: str) -> None:
    assert set(_safety().needs(text)) <= set(_safety().replies)  # only the file's needs


# ---- Regions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "country"),
    [
        ("America/New_York", "US"),
        ("Pacific/Honolulu", "US"),
        ("US/Eastern", "US"),
        ("Europe/London", "GB"),
        ("Europe/Belfast", "GB"),
        ("Europe/Dublin", "IE"),
        ("Asia/Tokyo", "JP"),
        ("UTC", None),
        ("UTC+05:30", None),
    ],
)
def test_a_timezone_names_its_country(zone: str, country: str | None) -> None:
    assert country_of(zone) == country


async def support_in(lite: Tandem, place: str, zone: str) -> Outgoing:
    """Alice, paired, sets her timezone to `place` and asks /support in her private chat."""
    await pair(lite, ALICE)
    [zone_set] = await lite.handle(said(ALICE, f"/timezone {place}"))
    assert zone in zone_set.text
    [answer] = await lite.handle(privately(ALICE, "/support"))
    return answer


@pytest.mark.parametrize(
    ("place", "zone", "expected", "unexpected"),
    [
        (
            "New York",
            "America/New_York",
            [
                "Call 911",
                "1-800-799-7233",
                "START to 88788",
                "call or text 988",
                "I assumed the US from your timezone America/New_York",
                "findahelpline.com",
            ],
            ["999", "116 123"],
        ),
        (
            "London",
            "Europe/London",
            [
                "Call 999",
                "0808 2000 247",
                "116 123",
                "I assumed the UK from your timezone Europe/London",
            ],
            ["911", "988"],
        ),
        (
            "Dublin",
            "Europe/Dublin",
            [
                "Call 112 or 999",
                "1800 341 900",
                "116 123",
                "I assumed Ireland from your timezone Europe/Dublin",
            ],
            ["911", "0808 2000 247"],
        ),
        (
            "Lima",
            "America/Lima",
            [
                "Call your local emergency number",
                "findahelpline.com",
                "From your timezone America/Lima I assumed Peru, where I don't have lines",
            ],
            ["911", "999", "116 123"],
        ),
        (
            "UTC",
            "UTC",
            [
                "Call your local emergency number",
                "findahelpline.com",
                "I can't tell your country from your timezone (UTC)",
            ],
            ["911", "999"],
        ),
    ],
)
async def test_support_picks_the_helplines_from_the_timezone(
    lite: Tandem, place: str, zone: str, expected: list[str], unexpected: list[str]
) -> None:
    answer = await support_in(lite, place, zone)
    assert answer.to == dm(ALICE) and answer.protect
    assert answer.text.startswith("🆘 In danger right now?")  # danger first
    for words_ in expected:
        assert words_ in answer.text, words_
    for words_ in unexpected:
        assert words_ not in answer.text, words_
    for sign in ("checks your phone", "where you are", "friends", "money", "threatens"):
        assert sign in answer.text
    assert "couples counselling isn't advised" in answer.text
    assert "a device your partner can't reach" in answer.text


# ---- Where /support is answered ---------------------------------------------------------------


async def test_support_in_the_shared_chat_goes_to_the_private_chat(lite: Tandem) -> None:
    await pair(lite, ALICE)
    await pair(lite, BOB)
    await lite.handle(said(ALICE, "/timezone London"))
    replies = await lite.handle(said(ALICE, "/support"))  # typed in the group, as on Telegram
    [answer] = [r for r in replies if r.to == dm(ALICE)]
    [neutral] = [r for r in replies if r.to == HOME]
    assert len(replies) == 2 and answer.protect and "0808 2000 247" in answer.text
    assert neutral.text == "🔒 I've answered in your private chat with me."
    assert not any(r.to == dm(BOB) for r in replies)


async def test_support_with_no_private_chat_gives_a_neutral_line_and_a_button(
    lite: Tandem,
) -> None:
    await lite.handle(said(ALICE, "/start"))
    await lite.handle(said(ALICE, "/timezone Dublin"))
    [neutral] = await lite.handle(said(ALICE, "/support"))
    assert neutral.to == HOME and neutral.buttons
    assert "999" not in neutral.text and "abuse" not in neutral.text
    code = start_code(neutral)
    assert code == "support-IE"
    # Telegram opens the private chat with "/start support-IE"; no pairing happens.
    [answer] = await lite.handle(privately(ALICE, f"/start {code}"))
    assert answer.to == dm(ALICE) and answer.protect
    assert "1800 341 900" in answer.text
    assert "I assumed Ireland from your shared chat's timezone" in answer.text
    [pair_offer] = await lite.handle(said(ALICE, "/pair"))
    assert start_code(pair_offer) != code  # still not linked: /pair offers a fresh link


async def test_support_on_discord_is_ephemeral(lite: Tandem) -> None:
    await lite.handle(said(ALICE, "/start"))
    [answer] = await lite.handle(said(ALICE, "/support", whisper=True))
    assert answer.to == HOME and answer.private
    assert answer.text.startswith("🆘 In danger right now?")


def test_the_welcome_points_to_support(library: Library) -> None:
    lines = [line for line in library.texts.welcome.splitlines() if "/support" in line]
    assert len(lines) == 1 and "unsafe" in lines[0]


# ---- A note in crisis words -------------------------------------------------------------------


def debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Everything at DEBUG, as LOG_LEVEL=DEBUG runs the app (its database drivers kept quiet)."""
    caplog.set_level(logging.DEBUG)
    setup_logging("DEBUG")


SCARED = "I'm scared of him when he drinks"


def addressed(replies: list[Outgoing], *to: object) -> list[Outgoing]:
    return [r for r in replies if r.to in to]


async def test_a_crisis_note_gets_a_private_reply_and_stays_out_of_the_reveal(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, caplog: pytest.LogCaptureFixture
) -> None:
    debug_logs(caplog)
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    await lite.handle(said(ALICE, "/timezone New York"))
    alice_checkin = sent[dm(ALICE)]
    # Alice chose to share her note at the reveal, then added words that matched.
    replies = await lite.handle(
        privately(ALICE, "rough day", reply_to=messenger.message_id_of(alice_checkin))
    )
    await lite.handle(privately(ALICE, action=replies[0].buttons[1].action))
    replies = await lite.handle(
        privately(ALICE, SCARED, reply_to=messenger.message_id_of(alice_checkin))
    )
    assert {r.to for r in replies} == {dm(ALICE)}
    saved, care = replies
    assert "Note saved" in saved.text and care.protect
    assert care.text.startswith("Thank you for telling me.")
    assert "Call 911" in care.text and "1-800-799-7233" in care.text
    assert "your partner isn't told" in care.text
    assert "stays private at the reveal, unless you choose to share it again" in care.text
    assert messenger.sent == []  # nothing went anywhere else

    await lite.handle(privately(ALICE, action=tap(alice_checkin, 3)))
    replies = await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 4)))
    [reveal] = addressed(replies, HOME)
    assert "Alice 3/5 · Bob 4/5" in reveal.text
    assert "scared" not in reveal.text and "rough day" not in reveal.text
    assert not any("scared" in r.text for r in replies)

    # Alice shares it again, knowingly: now it is shown.
    again = await lite.handle(privately(ALICE, action=saved.buttons[1].action))
    [line] = addressed(again, HOME)
    assert SCARED in line.text and "rough day" in line.text
    assert logging.getLogger("bot.safety").isEnabledFor(logging.DEBUG)  # any line would show
    assert SCARED not in caplog.text and "scared" not in caplog.text.lower()


async def test_a_crisis_note_is_kept_from_a_reveal_still_to_come_until_shared_again(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await one_linked(lite, BOB, ALICE)  # Alice answers in the group: it has the check-in
    sent = await checkin_due(lite, clock, messenger)
    reply_to = messenger.message_id_of(sent[dm(BOB)])
    [saved, care] = await lite.handle(privately(BOB, "she hit me", reply_to=reply_to))
    assert care.to == dm(BOB)
    # A harmless line typed later as a reply in the group does not share the held note.
    group_checkin = messenger.message_id_of(sent[HOME])
    in_group = await lite.handle(said(BOB, "long day at work", reply_to=group_checkin))
    assert all("hit" not in r.text for r in in_group)
    [shared] = await lite.handle(privately(BOB, action=saved.buttons[1].action))
    assert "shown with the answers" in shared.text  # Bob chose, again: it will be shown
    await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 2)))
    replies = await lite.handle(said(ALICE, action=tap(sent[HOME], 4), whisper=True))
    [reveal] = [r for r in addressed(replies, HOME) if not r.private]  # not the tap's thanks
    assert "she hit me" in reveal.text


async def test_a_crisis_reply_typed_in_the_group_is_answered_in_the_private_chat(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await one_linked(lite)  # Bob answers in the group: it has the check-in
    sent = await checkin_due(lite, clock, messenger)
    group_checkin = messenger.message_id_of(sent[HOME])
    replies = await lite.handle(said(ALICE, "I want to die", reply_to=group_checkin))
    [in_group] = addressed(replies, HOME)
    [care] = addressed(replies, dm(ALICE))
    assert in_group.text.startswith("📝 Note saved")  # the same line any note gets
    assert "988" not in in_group.text and "116 123" not in in_group.text
    assert "findahelpline.com" in care.text and care.protect
    assert "stays private" not in care.text  # it was in front of the partner: no false comfort
    assert "may have been seen there already" in care.text
    assert addressed(replies, dm(BOB)) == []
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 2)))
    replies = await lite.handle(said(BOB, action=tap(sent[HOME], 4), whisper=True))
    [reveal] = [r for r in addressed(replies, HOME) if not r.private]  # not the tap's thanks
    assert "want to die" not in reveal.text


async def test_an_everyday_note_is_shared_as_before(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    reply_to = messenger.message_id_of(sent[dm(ALICE)])
    replies = await lite.handle(privately(ALICE, "I'm scared of spiders", reply_to=reply_to))
    assert len(replies) == 1
    await lite.handle(privately(ALICE, action=replies[0].buttons[1].action))
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 3)))
    replies = await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 4)))
    [reveal] = addressed(replies, HOME)
    assert "I'm scared of spiders" in reveal.text


# ---- Promises and private messages ------------------------------------------------------------


async def test_a_promise_in_crisis_words_gets_a_private_reply(lite: Tandem) -> None:
    await couple(lite)
    replies = await lite.handle(said(BOB, "/promise stop being scared of her by fri"))
    assert len(replies) == 1  # "scared of her" alone is not "I'm scared of her"
    replies = await lite.handle(said(BOB, "/promise call the helpline, I'm afraid of her"))
    [noted] = addressed(replies, HOME)
    [care] = addressed(replies, dm(BOB))
    assert "Promise noted" in noted.text and "Call your local emergency number" in care.text
    assert addressed(replies, dm(ALICE)) == []


async def test_words_typed_in_a_private_chat_are_read_for_crisis_words_only(
    lite: Tandem, caplog: pytest.LogCaptureFixture
) -> None:
    debug_logs(caplog)
    await pair(lite, ALICE)
    await lite.handle(said(ALICE, "/timezone London"))
    [hello] = await lite.handle(privately(ALICE, "hello, is anyone there?"))  # bot/talk/
    assert "Good to hear from you" in hello.text
    assert await lite.handle(said(ALICE, "I want to die")) == []  # group chatter: not ours
    [care] = await lite.handle(privately(ALICE, "honestly I want to die"))
    assert care.to == dm(ALICE) and care.private and care.protect
    assert "116 123" in care.text and "Call 999" in care.text
    assert "want to die" not in caplog.text
    # A private chat that is linked to no space gets the same care, for anywhere.
    [stranger] = await lite.handle(privately(BOB, "I don't feel safe at home"))
    assert "findahelpline.com" in stranger.text


# ---- Once through the console adapter -------------------------------------------------------


async def test_the_console_answers_support_and_crisis_words_in_the_private_chat(
    tmp_path: Path,
) -> None:
    import io

    from adapters.console import ConsoleAdapter
    from bot.app import App
    from bot.settings import Settings

    out = io.StringIO()
    console = ConsoleAdapter(out=out, export_dir=tmp_path)
    app = App(Settings(database_url=f"sqlite:///{tmp_path}/app.db"), [console], clock=FixedClock())
    await app.start()
    try:
        for line in ("/start", "/timezone London", "/pair", "1", "/shared"):
            await console.feed(line)
        mark = len(out.getvalue())
        await console.feed("/support")
        shown = out.getvalue()[mark:]
        assert "Alice's private chat]: 🆘 In danger right now? Call 999" in shown
        assert "shared chat]: (only Alice sees this) 🔒 I've answered in your private chat" in shown
        await console.feed("/private")
        mark = len(out.getvalue())
        await console.feed("some days I want to die")
        shown = out.getvalue()[mark:]
        assert "Alice's private chat]: Thank you for telling me." in shown
        assert "116 123" in shown
    finally:
        await app.stop()
