"""Fuzzing whole commands as a partner types them: every reply is a confirmation or a friendly
error with an example of the right form, and an error changes nothing."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.content import Library
from bot.service import SORRY, Tandem
from tests.conftest import build, exported
from tests.fakes import ALICE, FakeMessenger, FixedClock, said

# Each command with arguments it takes, so the fuzzing also walks near the right form.
COMMANDS = {
    "/remind": ["8pm", "20:30", "8:30 pm weekdays", "off", "9pm mon,wed"],
    "/checkin": ["9pm", "21:30 daily", "off", "7am weekends"],
    "/timezone": ["Berlin", "Europe/Berlin", "UTC+5:30", "UTC-03:00"],
    "/topics": ["gratitude", "gratitude, patience", "empathy"],
    "/topics add": ["patience", "forgiveness"],
    "/topics drop": ["patience", "forgiveness"],
    "/pause": ["3 days", "1 day", "365 days"],
    "/weekly": ["sun 19:00", "fri 8pm", "off"],
    "/reveal": ["together", "never", "instant"],
    "/question": ["1", "2", "15"],
}
# A command that changed something says so; one that showed or refused changed nothing.
CONFIRMED = re.compile(r"^(✅|⏸ Paused|▶️)|\bturned off\b|\bset the reveal to\b")
EXAMPLE = re.compile(r"for example|e\.g\.|\bTry\b|/\w+ \S", re.IGNORECASE)
# Asking for what is already so is neither a change nor an error: it says so.
ALREADY = re.compile(r"\bis already\b|\bweren't paused\b")


def near(valid: list[str]) -> st.SearchStrategy[str]:
    """A valid argument, one with junk around or inside it, or plain junk."""
    junk = st.text(max_size=12)
    return st.one_of(
        st.text(max_size=60),
        st.sampled_from(valid),
        st.builds(lambda v, a, b: a + v + b, st.sampled_from(valid), junk, junk),
        st.builds(
            lambda v, i, j: v[:i] + j + v[i:], st.sampled_from(valid), st.integers(0, 12), junk
        ),
    )


typed = st.sampled_from(sorted(COMMANDS)).flatmap(
    lambda command: st.tuples(st.just(command), near(COMMANDS[command]))
)


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, library: Library
) -> Iterator[tuple[asyncio.AbstractEventLoop, Tandem]]:
    loop = asyncio.new_event_loop()
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    tandem = loop.run_until_complete(
        build(f"sqlite:///{path}", FixedClock(), FakeMessenger(), library)
    )
    # A partner, so the arguments reach the parsers instead of the permission check.
    [welcome] = loop.run_until_complete(tandem.handle(said(ALICE, "/start")))
    assert "not therapy" in welcome.text
    yield loop, tandem
    loop.run_until_complete(tandem.store.close())
    loop.close()


def state(loop: asyncio.AbstractEventLoop, tandem: Tandem) -> dict[str, object]:
    """Everything stored about the chat, as /export gives it, without the export's own time."""
    # Asked where only Alice sees the answer (as a Discord slash command is): an export is
    # never posted in a shared chat.
    reply = exported(loop.run_until_complete(tandem.handle(said(ALICE, "/export", whisper=True))))
    assert reply.attachment is not None
    data: dict[str, object] = json.loads(reply.attachment.data)
    data.pop("exported_at")
    return data


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=typed)
def test_any_argument_is_confirmed_or_refused_with_an_example_and_changes_nothing(
    running: tuple[asyncio.AbstractEventLoop, Tandem], command: tuple[str, str]
) -> None:
    loop, tandem = running
    # A bare /checkin is "check in now": it sends the check-in, it parses nothing.
    assume(command[0] != "/checkin" or command[1].split())
    before = state(loop, tandem)
    replies = loop.run_until_complete(tandem.handle(said(ALICE, " ".join(command))))
    after = state(loop, tandem)
    assert len(replies) == 1, replies
    text = replies[0].text
    assert text and text != SORRY
    assert not text.startswith("Only this space's"), "the fuzzed person is a partner"
    if CONFIRMED.search(text):
        return
    assert after == before, f"{command!r} was answered {text!r} but changed the space"
    assert EXAMPLE.search(text) or ALREADY.search(text), f"no example of the right form in {text!r}"


def test_a_refused_argument_really_is_caught_by_the_state_check(
    running: tuple[asyncio.AbstractEventLoop, Tandem],
) -> None:
    """The positive control: the snapshot the fuzz compares does see a change."""
    loop, tandem = running
    before = state(loop, tandem)
    [reply] = loop.run_until_complete(tandem.handle(said(ALICE, "/remind 07:13")))
    assert reply.text.startswith("✅")
    assert state(loop, tandem) != before
    [refused] = loop.run_until_complete(tandem.handle(said(ALICE, "/remind 25:99")))
    assert EXAMPLE.search(refused.text) and not CONFIRMED.search(refused.text)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(action=st.text(max_size=40), text=st.text(max_size=40))
def test_any_button_payload_is_refused_kindly(
    running: tuple[asyncio.AbstractEventLoop, Tandem], action: str, text: str
) -> None:
    loop, tandem = running
    before = state(loop, tandem)
    replies = loop.run_until_complete(tandem.handle(said(ALICE, text, action=action or "x")))
    assert all(r.text and r.text != SORRY for r in replies)
    assert state(loop, tandem) == before
