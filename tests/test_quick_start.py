"""The README's quick start, pasted into the console line by line, is understood throughout."""

from __future__ import annotations

import io
import re
from pathlib import Path

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.settings import Settings
from tests.fakes import FixedClock

README = Path(__file__).resolve().parents[1] / "README.md"


def quick_start() -> list[str]:
    """The lines of the block after "Try it:" in the README."""
    found = re.search(r"Try it:\n+```\n(.*?)```", README.read_text(), re.DOTALL)
    assert found is not None, "the README's quick start block is gone"
    return [line for line in found[1].splitlines() if line.strip()]


async def test_the_quick_start_can_be_pasted_as_it_is(tmp_path: Path) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(out=out, export_dir=tmp_path)
    app = App(Settings(database_url=f"sqlite:///{tmp_path}/app.db"), [console], clock=FixedClock())
    await app.start()
    try:
        for line in quick_start():
            mark = len(out.getvalue())
            await console.feed(line)
            shown = out.getvalue()[mark:]
            for refusal in ("I don't know", "isn't one I know", "couldn't read"):
                assert refusal not in shown, f"{line!r} got: {shown}"
    finally:
        await app.stop()
    everything = out.getvalue()
    assert "Alice 4/5" in everything and "Bob 5/5" in everything  # the reveal came
    assert "plan Saturday's walk" in everything
