"""The console's buttons: messages are numbered, `/tap 7 3` presses button 3 of message 7, and a
bare number still presses a button of the newest message here that has them."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.settings import Settings
from tests.fakes import FixedClock


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[ConsoleAdapter, io.StringIO]]:
    out = io.StringIO()
    console = ConsoleAdapter(out=out, export_dir=tmp_path)
    app = App(Settings(database_url=f"sqlite:///{tmp_path}/app.db"), [console], clock=FixedClock())
    await app.start()
    try:
        for line in ("/start", "/as Bob", "/start", "/as Alice", "/checkin", "/perspective"):
            await console.feed(line)
        yield console, out
    finally:
        await app.stop()


async def _shown(console: ConsoleAdapter, out: io.StringIO, line: str) -> str:
    mark = len(out.getvalue())
    await console.feed(line)
    return out.getvalue()[mark:]


async def test_messages_and_their_buttons_are_numbered(
    console: tuple[ConsoleAdapter, io.StringIO],
) -> None:
    _, out = console
    assert "Tandem [#3, shared chat]: 💬 Check-in" in out.getvalue()
    assert "/tap 3 1" in out.getvalue()  # how to press an older message's button is shown


async def test_tap_presses_a_button_of_an_older_message(
    console: tuple[ConsoleAdapter, io.StringIO],
) -> None:
    adapter, out = console
    # The check-in (#3) came before /perspective (#4): a bare 3 would answer the newer one.
    shown = await _shown(adapter, out, "/tap 3 4")
    assert "Your check-in for Sat 21 Nov is saved: 4/5" in shown
    await adapter.feed("/as Bob")
    shown = await _shown(adapter, out, "/tap 3 2")
    assert "Alice 4/5" in shown and "Bob 2/5" in shown  # both answered: revealed


async def test_a_bare_number_still_presses_the_newest(
    console: tuple[ConsoleAdapter, io.StringIO],
) -> None:
    adapter, out = console
    shown = await _shown(adapter, out, "3")  # /perspective's third button, not the check-in's
    assert "Saved: “Both, or I'd rather not say”" in shown and "check-in" not in shown


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("/tap", "/tap 3 1"),
        ("/tap 3", "/tap 3 1"),
        ("/tap three one", "/tap 3 1"),
        ("/tap 99 1", "no message #99 with buttons in the shared chat"),
        ("/tap 3 12", "message #3 has buttons 1 to 10"),
    ],
)
async def test_a_tap_that_cannot_be_pressed_says_how_and_sends_nothing(
    console: tuple[ConsoleAdapter, io.StringIO], typed: str, said: str
) -> None:
    adapter, out = console
    shown = await _shown(adapter, out, typed)
    assert said in shown and "Tandem [" not in shown
