"""Fuzzing whole commands: whatever a member types, Tandem answers kindly and never breaks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content import Library
from bot.service import SORRY, Tandem
from tests.conftest import build
from tests.fakes import ALICE, FakeMessenger, FixedClock, said

COMMANDS = ["/remind", "/checkin", "/timezone", "/topics", "/pause", "/topics add", "/topics drop"]


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, library: Library
) -> Iterator[tuple[asyncio.AbstractEventLoop, Tandem]]:
    loop = asyncio.new_event_loop()
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    tandem = loop.run_until_complete(
        build(f"sqlite:///{path}", FixedClock(), FakeMessenger(), library)
    )
    yield loop, tandem
    loop.run_until_complete(tandem.store.close())
    loop.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=st.sampled_from(COMMANDS), argument=st.text(max_size=60))
def test_any_argument_gets_one_friendly_reply(
    running: tuple[asyncio.AbstractEventLoop, Tandem], command: str, argument: str
) -> None:
    loop, tandem = running
    replies = loop.run_until_complete(tandem.handle(said(ALICE, f"{command} {argument}")))
    assert len(replies) <= 1
    for reply in replies:
        assert reply.text and reply.text != SORRY


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(action=st.text(max_size=40), text=st.text(max_size=40))
def test_any_button_payload_is_refused_kindly(
    running: tuple[asyncio.AbstractEventLoop, Tandem], action: str, text: str
) -> None:
    loop, tandem = running
    replies = loop.run_until_complete(tandem.handle(said(ALICE, text, action=action or "x")))
    assert all(r.text != SORRY for r in replies)
