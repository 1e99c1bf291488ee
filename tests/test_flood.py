"""Flood protection: the 11th command or tap in a minute gets one friendly "slow down", then a
minute of silence; nobody else is affected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.content import Library
from bot.flood import SLOW_DOWN, FloodGate, Verdict
from bot.messages import Address, Incoming
from bot.service import Tandem
from bot.settings import Settings
from tests.conftest import build
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_two_voices import privately

OTHER = Address("test", "chat-2")


@pytest.fixture
async def guarded(
    sqlite_url: str, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> AsyncIterator[Tandem]:
    bot = await build(sqlite_url, clock, messenger, library, flood=FloodGate())
    yield bot
    await bot.store.close()


async def texts(bot: Tandem, who: tuple[str, str], typed: str, to: Address = HOME) -> list[str]:
    return [r.text for r in await bot.handle(said(who, typed, to=to))]


async def test_the_eleventh_command_in_a_minute_gets_one_slow_down_then_silence(
    guarded: Tandem, clock: FixedClock
) -> None:
    await guarded.handle(said(ALICE, "/start"))
    for _ in range(9):
        clock.advance(seconds=5)
        assert "Daily prompt" in "".join(await texts(guarded, ALICE, "/schedule"))
    clock.advance(seconds=5)  # 50 s after the first: the 11th command within a minute
    [slow] = await guarded.handle(said(ALICE, "/schedule"))
    assert slow.text == SLOW_DOWN and slow.private
    for _ in range(5):
        clock.advance(seconds=10)
        assert await guarded.handle(said(ALICE, "/schedule")) == []  # ignored, not answered

    clock.advance(seconds=10)  # a minute after the slow down
    assert "Daily prompt" in "".join(await texts(guarded, ALICE, "/schedule"))


async def test_an_ignored_command_changes_nothing(guarded: Tandem, clock: FixedClock) -> None:
    await guarded.handle(said(ALICE, "/start"))
    for _ in range(9):
        await guarded.handle(said(ALICE, "/help"))
    assert await guarded.handle(said(ALICE, "/remind 8pm")) != []  # the slow down
    assert await guarded.handle(said(ALICE, "/remind 9pm")) == []
    clock.advance(minutes=1)
    assert "Daily prompt: off" in "".join(await texts(guarded, ALICE, "/schedule"))


async def test_another_person_and_another_space_are_unaffected(guarded: Tandem) -> None:
    for who in (ALICE, BOB):
        await guarded.handle(said(who, "/start"))
    for _ in range(20):
        await guarded.handle(said(ALICE, "/tip"))
    assert await guarded.handle(said(ALICE, "/schedule")) == []

    assert "Daily prompt" in "".join(await texts(guarded, BOB, "/schedule"))
    assert "not therapy" in "".join(await texts(guarded, ALICE, "/start", to=OTHER))


async def test_check_in_taps_count_too(
    guarded: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    for who in (ALICE, BOB):
        await guarded.handle(said(who, "/start"))
    await guarded.handle(said(ALICE, "/checkin"))
    [checkin] = [m for m in messenger.take() if m.buttons]
    clock.advance(minutes=1)  # a fresh minute for the taps alone
    answers = [
        await guarded.handle(said(ALICE, action=checkin.buttons[n % 5].action)) for n in range(12)
    ]
    assert all("Thanks, Alice" in a[0].text for a in answers[:10])
    assert [r.text for r in answers[10]] == [SLOW_DOWN]
    assert answers[11] == []
    assert "Daily prompt" in "".join(await texts(guarded, BOB, "/schedule"))  # Bob may go on


async def test_notes_and_chat_events_are_not_commands(guarded: Tandem) -> None:
    await guarded.handle(said(ALICE, "/start"))
    for _ in range(9):
        await guarded.handle(said(ALICE, "/help"))
    assert await guarded.handle(said(ALICE, "just chatting")) == []  # not counted, not answered
    [slow] = await guarded.handle(said(ALICE, "/help"))
    assert slow.text == SLOW_DOWN


async def test_flood_protection_is_on_in_the_running_bot(
    sqlite_url: str, clock: FixedClock, library: Library
) -> None:
    settings_ = Settings(_env_file=None, database_url=sqlite_url, tick_seconds=60)  # type: ignore[call-arg]
    app = App(settings_, [], clock=clock, library=library)
    tandem = await app.start()
    try:
        replies = [await tandem.handle(said(ALICE, "/help")) for _ in range(12)]
    finally:
        await app.stop()
    assert [len(r) for r in replies] == [1] * 11 + [0]
    assert replies[10][0].text == SLOW_DOWN


EVENTS = st.lists(
    st.tuples(
        # seconds since the last event: bursts, a person's pace, and pauses
        st.one_of(st.just(0.0), st.floats(0, 6), st.floats(0, 90)),
        st.sampled_from([("test", "chat-1", "u1"), ("test", "chat-1", "u2"), ("test", "x", "u1")]),
    ),
    min_size=12,
    max_size=300,
)
U1 = ("test", "chat-1", "u1")


@settings(max_examples=200, deadline=None)
@given(EVENTS)
@example([(0.0, U1)] * 25)  # a burst
@example([(5.0, U1)] * 25)  # twelve within a minute, evenly spread
@example([(0.0, U1)] * 11 + [(60.0, U1)] + [(0.0, U1)] * 11)  # right at the minute's end
@example([(0.0, U1)] * 11 + [(10.0, U1)] * 12)  # knocking on through the quiet minute
def test_never_more_than_eleven_replies_a_minute_for_any_interleaving(
    events: list[tuple[float, tuple[str, str, str]]],
) -> None:
    gate = FloodGate()
    now = datetime(2026, 11, 21, 12, 0)
    heard: dict[tuple[str, str, str], list[tuple[datetime, Verdict]]] = {}
    for gap, key in events:
        now += timedelta(seconds=gap)
        verdict = gate.check(Address(key[0], key[1]), key[2], now)
        heard.setdefault(key, []).append((now, verdict))
    for seen in heard.values():
        for start, _ in seen:
            minute = [v for t, v in seen if start <= t < start + timedelta(minutes=1)]
            assert minute.count(Verdict.ANSWER) <= 10
            assert minute.count(Verdict.SLOW_DOWN) <= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=6.0, max_value=600.0, allow_nan=False), max_size=100))
def test_at_a_persons_pace_nothing_is_ever_held_back(gaps: list[float]) -> None:
    gate = FloodGate()
    now = datetime(2026, 11, 21, 12, 0)
    for gap in gaps:
        now += timedelta(seconds=gap)
        assert gate.check(Address("test", "chat-1"), "u1", now) is Verdict.ANSWER


async def test_support_is_answered_however_much_came_before(
    guarded: Tandem, clock: FixedClock
) -> None:
    await guarded.handle(said(ALICE, "/start"))
    for _ in range(12):  # past the limit: the slow down, then silence
        await guarded.handle(said(ALICE, "/help"))
    assert await guarded.handle(said(ALICE, "/schedule")) == []  # the quiet minute holds...
    for _ in range(3):  # ...but never for help, asked again and again
        replies = await guarded.handle(said(ALICE, "/support"))
        assert replies and all(r.text != SLOW_DOWN for r in replies)
        assert any("private chat" in r.text or "emergency" in r.text.lower() for r in replies)


async def test_words_of_danger_in_a_command_are_never_swallowed(
    guarded: Tandem, clock: FixedClock, library: Library
) -> None:
    await guarded.handle(said(ALICE, "/start"))
    for _ in range(12):
        await guarded.handle(said(ALICE, "/help"))
    danger = "/promise stay safe, I am scared of him"
    assert library.safety.needs(danger)  # the phrase list reads it as danger
    replies = await guarded.handle(said(ALICE, danger))
    assert replies and all(r.text != SLOW_DOWN for r in replies)
    assert await guarded.handle(said(ALICE, "/promise walk together")) == []  # others still wait


async def test_removing_a_word_of_help_is_never_held_back(
    guarded: Tandem, clock: FixedClock
) -> None:
    def mine(text: str = "", **kw: object) -> Incoming:
        return privately(ALICE, text, **kw)  # her private chat, where the flood is counted

    [help_reply] = await guarded.handle(mine("/support"))
    for _ in range(12):  # then a flood in that private chat: the quiet minute begins
        await guarded.handle(mine("/help"))
    assert await guarded.handle(mine("/help")) == []
    [remove] = [b for b in help_reply.buttons if b.label == "Remove this from the chat"]
    replies = await guarded.handle(mine(action=remove.action))
    assert replies and all(r.text != SLOW_DOWN for r in replies)
