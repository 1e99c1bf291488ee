"""The console's /tomorrow: the injected clock moves on to just past the next day's daily times,
and what comes due on the way is delivered at its own time, so a newcomer lives a week in a
minute; and /reply answers the newest message that asks for words."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.ports import MovableClock
from bot.settings import Settings
from tests.fakes import FixedClock


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[ConsoleAdapter, io.StringIO, FixedClock]]:
    out = io.StringIO()
    clock = FixedClock("2026-11-21T12:00:00+00:00")  # a Saturday, noon
    console = ConsoleAdapter(out=out, export_dir=tmp_path)
    app = App(Settings(database_url=f"sqlite:///{tmp_path}/app.db"), [console], clock=clock)
    await app.start()
    try:
        for line in ("/start", "/as Bob", "/start", "/as Alice", "/checkin 21:00"):
            await console.feed(line)
        yield console, out, clock
    finally:
        await app.stop()


async def shown(console: ConsoleAdapter, out: io.StringIO, line: str) -> str:
    mark = len(out.getvalue())
    await console.feed(line)
    return out.getvalue()[mark:]


async def test_tomorrow_lives_the_day_and_a_week_takes_seven_lines(
    console: tuple[ConsoleAdapter, io.StringIO, FixedClock],
) -> None:
    adapter, out, clock = console
    day = await shown(adapter, out, "/tomorrow")
    # Today's check-in (still to come at noon) and tomorrow's, each at its own time: none missed.
    assert re.findall(r"💬 Check-in", day) == ["💬 Check-in"] * 2
    assert "❓ Today's question" in day  # inside the shared check-in, for partners with no chat
    assert "(it is now Sun 22 Nov, 21:00 here, UTC time)" in day
    assert clock.now().isoformat() == "2026-11-22T21:00:30+00:00"
    for expected in ("Mon 23 Nov", "Tue 24 Nov", "Wed 25 Nov", "Thu 26 Nov", "Fri 27 Nov"):
        next_day = await shown(adapter, out, "/tomorrow")
        assert next_day.count("💬 Check-in") == 1 and f"(it is now {expected}, 21:00" in next_day


async def test_reply_answers_the_newest_message_that_asks_for_words(
    console: tuple[ConsoleAdapter, io.StringIO, FixedClock],
) -> None:
    adapter, out, _ = console
    await adapter.feed("/tomorrow")
    tapped = await shown(adapter, out, "4")  # the newest check-in's 4: Sunday's, not Saturday's
    assert "Sun 22 Nov" in tapped and "4/5" in tapped
    note = await shown(adapter, out, "/reply A calm evening.")
    assert "note" in note.lower() and "Sat 21 Nov" not in note


def test_the_consoles_real_clock_moves_on_and_never_back() -> None:
    clock = MovableClock()
    target = clock.now() + timedelta(days=1)
    clock.move_to(target)
    assert clock.now() >= target
    clock.move_to(target - timedelta(days=2))  # a day already lived stays lived
    assert clock.now() >= target
