"""Plain words typed to Tandem: each intent answered with buttons for the next step, through the
console as a person types them; the offer to keep a partner's own words as today's note; the
gentle line for what Tandem can't place; and never a traceback, whatever is typed."""

from __future__ import annotations

import asyncio
import io
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.content import ContentError, Library, default_content_dir, load_content
from bot.service import SORRY, Tandem
from bot.settings import Settings
from tests.conftest import build, export_of
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.talk_phrasings import OWN_WORDS, PHRASINGS
from tests.test_two_voices import checkin_due, couple, dm, pair, privately, tap

# What each intent's answer says, as the person sees it.
ANSWERS = {
    "greeting": "Good to hear from you",
    "help": "Tap More for every command",
    "what_now": "Here's what's open today",
    "how": "Each day I send one small step",
    "thanks": "You're welcome",
    "stop": "Would you like a break from my messages?",
    "privacy": "Your privacy, in short",
}
OFFER = "Keep this as today's private note?"
UNKNOWN = "I'm not sure I followed. Two things to try"


@pytest.mark.parametrize(("intent", "typed"), [(i, p) for i, ps in PHRASINGS.items() for p in ps])
def test_each_phrasing_finds_its_intent(library: Library, intent: str, typed: str) -> None:
    found = library.talk.match(typed)
    assert found is not None and found.name == intent, f"{typed!r} -> {found and found.name}"


@pytest.mark.parametrize("typed", OWN_WORDS)
def test_words_of_ones_own_are_no_intent(library: Library, typed: str) -> None:
    assert library.talk.match(typed) is None


def test_every_intent_has_thirty_phrasings_in_several_forms() -> None:
    for intent, typed in PHRASINGS.items():
        assert len(set(typed)) >= 30, intent
        assert any(t != t.lower() for t in typed), f"{intent}: no capitals"
        assert any(t.isalpha() or (" " in t and t.replace(" ", "").isalpha()) for t in typed)
        assert any(not t.isascii() for t in typed), f"{intent}: no emoji"


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[ConsoleAdapter, io.StringIO, FixedClock]]:
    """Alice and Bob have started; Alice's private chat is linked, and she is in it."""
    out = io.StringIO()
    clock = FixedClock()
    console = ConsoleAdapter(out=out, export_dir=tmp_path)
    app = App(Settings(database_url=f"sqlite:///{tmp_path}/app.db"), [console], clock=clock)
    await app.start()
    try:
        for line in ("/start", "/as Bob", "/start", "/as Alice", "/pair", "1"):
            await console.feed(line)
        yield console, out, clock
    finally:
        await app.stop()


async def _shown(console: ConsoleAdapter, out: io.StringIO, clock: FixedClock, line: str) -> str:
    clock.advance(seconds=7)  # a person typing, not a flood (10 a minute at most)
    mark = len(out.getvalue())
    await console.feed(line)
    return out.getvalue()[mark:]


@pytest.mark.parametrize("intent", list(PHRASINGS))
async def test_each_phrasing_is_answered_in_the_private_chat_with_buttons(
    console: tuple[ConsoleAdapter, io.StringIO, FixedClock], intent: str
) -> None:
    adapter, out, clock = console
    wrong = []
    for typed in PHRASINGS[intent]:
        shown = await _shown(adapter, out, clock, typed)
        if ANSWERS[intent] not in shown or "[1]" not in shown or OFFER in shown:
            wrong.append((typed, shown))
    assert not wrong, wrong[:3]


async def test_the_console_hears_a_mention_in_the_shared_chat_and_ignores_chatter(
    console: tuple[ConsoleAdapter, io.StringIO, FixedClock],
) -> None:
    adapter, out, clock = console
    await adapter.feed("/shared")
    assert await _shown(adapter, out, clock, "what now?") == ""  # talk between the two of them
    shown = await _shown(adapter, out, clock, "@Tandem what now?")
    assert "shared chat]: Here's what's open today" in shown
    shown = await _shown(adapter, out, clock, "@tandem we had a lovely walk")
    assert UNKNOWN in shown and OFFER not in shown  # never an offer in front of the partner


async def test_a_button_under_an_answer_takes_the_next_step(
    console: tuple[ConsoleAdapter, io.StringIO, FixedClock],
) -> None:
    adapter, out, clock = console
    await _shown(adapter, out, clock, "what now?")
    shown = await _shown(adapter, out, clock, "1")  # Today's question
    assert "❓ Today's question:" in shown
    await _shown(adapter, out, clock, "pls stop")
    shown = await _shown(adapter, out, clock, "1")  # Pause 3 days: the tap is the confirmation
    assert "⏸ Paused for 3 days" in shown


async def test_a_stranger_gets_the_answer_or_the_gentle_line_never_an_offer(
    lite: Tandem,
) -> None:
    [hello] = await lite.handle(privately(BOB, "hiii 👋"))
    assert "Send /start to begin" in hello.text and hello.buttons
    [other] = await lite.handle(privately(BOB, "we argued about money"))
    assert "/start to begin here" in other.text and len(other.buttons) == 2
    [what] = await lite.handle(said(BOB, "what now?", addressed=True))
    assert "send /start here" in what.text


async def test_unknown_words_in_the_shared_chat_get_two_things_to_try(lite: Tandem) -> None:
    await couple(lite)
    [line] = await lite.handle(said(ALICE, "blue elephants dancing", addressed=True))
    assert line.to == HOME and UNKNOWN in line.text
    assert [b.label for b in line.buttons] == ["Today's question", "What I can do"]
    assert await lite.handle(said(ALICE, "blue elephants dancing")) == []  # not addressed


async def _offer(lite: Tandem, who: tuple[str, str], text: str) -> dict[str, str]:
    [offer] = await lite.handle(privately(who, text))
    assert offer.to == dm(who) and offer.text == OFFER and offer.protect
    return {b.label: b.action for b in offer.buttons}


def _stored(lite: Tandem) -> bytes:
    url = str(lite.store.engine.url)
    path = url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT * FROM noteoffer").fetchall()
        rows += conn.execute("SELECT note FROM checkinanswer").fetchall()
    return repr(rows).encode()


async def test_keep_private_stays_private_at_the_reveal(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    choices = await _offer(lite, ALICE, "I felt far away from him tonight")
    assert list(choices) == ["Keep private", "Share at the reveal", "Don't keep"]
    assert b"far away" not in _stored(lite)  # waiting, sealed
    [kept] = await lite.handle(privately(ALICE, action=choices["Keep private"]))
    assert "Kept as your private note" in kept.text
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 4)))
    replies = await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 3)))
    assert any("Alice 4/5" in r.text for r in replies)
    assert all("far away" not in r.text for r in replies)
    [mine] = await lite.handle(privately(ALICE, "/progress"))
    assert "Alice 4/5 📝" in mine.text
    [his] = await lite.handle(privately(BOB, "/progress"))
    assert "📝" not in his.text.split("Alice", 1)[-1].split(",")[0]


async def test_a_note_kept_on_a_day_without_a_check_in_shows_in_its_author_s_progress(
    lite: Tandem,
) -> None:
    await couple(lite)
    choices = await _offer(lite, ALICE, "A quiet day, but I noticed the tea you made")
    [kept] = await lite.handle(privately(ALICE, action=choices["Keep private"]))
    assert "/progress marks the day with 📝" in kept.text
    [mine] = await lite.handle(privately(ALICE, "/progress"))
    assert "Sat 21 Nov: Alice 📝 (a note)" in mine.text  # as promised, with no check-in
    [his] = await lite.handle(privately(BOB, "/progress"))
    assert "📝" not in his.text  # hers alone
    [shared] = await lite.handle(said(BOB, "/progress"))
    assert "📝" not in shared.text


async def test_share_at_the_reveal_shows_it_at_the_reveal(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    choices = await _offer(lite, ALICE, "thank you for listening today")
    [ok] = await lite.handle(privately(ALICE, action=choices["Share at the reveal"]))
    assert "shown with the answers" in ok.text
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 5)))
    replies = await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 4)))
    [reveal] = [r for r in replies if r.to == HOME]
    assert "📝 Alice: “thank you for listening today”" in reveal.text


async def test_dont_keep_leaves_nothing_in_the_database(lite: Tandem) -> None:
    await couple(lite)
    choices = await _offer(lite, ALICE, "something I am not sure about")
    [gone] = await lite.handle(privately(ALICE, action=choices["Don't keep"]))
    assert "nothing of it is stored" in gone.text
    assert _stored(lite) == b"[]"
    [again] = await lite.handle(privately(ALICE, action=choices["Keep private"]))
    assert "aren't waiting" in again.text and _stored(lite) == b"[]"


async def test_a_choice_replaces_the_offer_and_a_stale_tap_never_claims_words_are_gone(
    lite: Tandem,
) -> None:
    await couple(lite)
    [offer] = await lite.handle(privately(ALICE, "I'm worried he's lying again"))
    choices = {b.label: b.action for b in offer.buttons}
    keep = privately(ALICE, action=choices["Keep private"], message_ref="offer-1")
    [kept] = await lite.handle(keep)
    assert "Kept as your private note" in kept.text
    assert kept.edit == "offer-1" and not kept.buttons  # in place of the offer: its buttons go
    # A tap on the old buttons anyway (a client that kept them): nothing changes, and it says
    # so without claiming the kept words are gone.
    drop = privately(ALICE, action=choices["Don't keep"], message_ref="offer-1")
    [stale] = await lite.handle(drop)
    assert "changed nothing" in stale.text and "nothing of them is kept" not in stale.text
    assert b"lying again" not in _stored(lite)  # sealed at rest, as it was
    mine = await export_of(lite, privately(ALICE, "/export"))  # still kept, as /export shows
    assert mine.attachment is not None and "lying again" in mine.attachment.data.decode()


async def test_after_the_reveal_the_offer_shares_with_the_partner_instead(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 4)))
    await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 4)))
    choices = await _offer(lite, ALICE, "glad we talked")
    assert list(choices) == ["Keep private", "Share with Bob", "Don't keep"]
    replies = await lite.handle(privately(ALICE, action=choices["Share with Bob"]))
    assert any(r.to == HOME and "Alice added a note" in r.text for r in replies)


async def test_only_the_author_chooses(lite: Tandem) -> None:
    await couple(lite)
    choices = await _offer(lite, ALICE, "mine alone")
    [refused] = await lite.handle(privately(BOB, action=choices["Share at the reveal"]))
    assert "aren't waiting" in refused.text


async def test_crisis_words_come_first_and_are_never_offered(lite: Tandem) -> None:
    await pair(lite, ALICE)
    [care] = await lite.handle(privately(ALICE, "honestly I want to die"))
    assert "Thank you for telling me" in care.text and OFFER not in care.text
    [shared] = await lite.handle(said(ALICE, "hi, I want to die", addressed=True))
    assert shared.to == dm(ALICE) and "Thank you for telling me" in shared.text


async def test_plain_words_count_for_flood_protection(lite: Tandem) -> None:
    from bot.flood import SLOW_DOWN, FloodGate

    await pair(lite, ALICE)
    lite.flood = FloodGate()
    answers = [await lite.handle(privately(ALICE, "hi")) for _ in range(12)]
    assert all("Good to hear from you" in a[0].text for a in answers[:10])
    assert [r.text for r in answers[10]] == [SLOW_DOWN] and answers[11] == []
    [care] = await lite.handle(privately(ALICE, "honestly I want to die"))
    assert "Thank you for telling me" in care.text  # help is never rate-limited
    assert await lite.handle(said(ALICE, "hi")) == []  # group chatter isn't counted or read


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, library: Library
) -> Iterator[tuple[asyncio.AbstractEventLoop, Tandem]]:
    loop = asyncio.new_event_loop()
    path: Path = tmp_path_factory.mktemp("talk") / "talk.db"
    tandem = loop.run_until_complete(
        build(f"sqlite:///{path}", FixedClock(), FakeMessenger(), library)
    )
    loop.run_until_complete(pair(tandem, ALICE))
    yield loop, tandem
    loop.run_until_complete(tandem.store.close())
    loop.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(min_size=1, max_size=300), where=st.sampled_from(["private", "mention"]))
def test_any_text_gets_a_reply_and_never_a_traceback(
    running: tuple[asyncio.AbstractEventLoop, Tandem], text: str, where: str
) -> None:
    loop, tandem = running
    assume(text.strip() and not text.startswith("/"))
    incoming = privately(ALICE, text) if where == "private" else said(ALICE, text, addressed=True)
    replies = loop.run_until_complete(tandem.handle(incoming))
    assert replies, repr(text)
    assert all(r.text and r.text != SORRY and "Traceback" not in r.text for r in replies)


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('run = "progress"', 'run = "forget"', "forget"),
        ('"thanks", "thank you",', '"thanks", "hiya", "thank you",', "in both greeting and thanks"),
        ('name = "stop"', 'name = "goodbye"', "goodbye"),
        ("You're welcome, {name}", "You're welcome, {partner}", "only {name}"),
    ],
)
def test_a_malformed_talk_file_stops_the_content_check_naming_it(
    tmp_path: Path, old: str, new: str, named: str
) -> None:
    broken = tmp_path / "content"
    shutil.copytree(default_content_dir(), broken)
    talk = broken / "talk.toml"
    assert old in talk.read_text()
    talk.write_text(talk.read_text().replace(old, new, 1))
    with pytest.raises(ContentError) as refused:
        load_content(broken)
    assert "talk.toml" in str(refused.value) and named in str(refused.value)


async def test_a_button_runs_only_the_commands_a_button_may_run(lite: Tandem) -> None:
    await couple(lite)
    [refused] = await lite.handle(said(ALICE, action="r:forget"))
    assert "isn't one I know" in refused.text
    [bob] = await lite.handle(said(("u9", "Eve"), action="r:pause:3"))
    assert "Only this space's two partners" in bob.text


async def test_an_offer_left_unchosen_is_erased_after_a_day(
    lite: Tandem, clock: FixedClock
) -> None:
    await couple(lite)
    choices = await _offer(lite, ALICE, "left waiting")
    clock.advance(days=2)
    await lite.housekeeper.run()
    assert _stored(lite) == b"[]"
    [late] = await lite.handle(privately(ALICE, action=choices["Keep private"]))
    assert "aren't waiting" in late.text
