""" "Remove this from the chat" through the real PTB stack: in a private chat it deletes Tandem's
answer and the person's own message (deleteMessage), says "Removed." in the tap's notice, and
nothing reaches the group or the partner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.content import Library
from bot.safety.replies import NOT_REMOVED, REMOVE_LABEL, REMOVED
from tests.fakes import FixedClock
from tests.telegram.fake_api import (
    ALICE,
    BOB,
    DM,
    GROUP,
    FakeBotApi,
    private_chat,
)
from tests.telegram.harness import Running, start_app


@pytest.fixture
async def bot(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> AsyncIterator[Running]:
    api.members |= {(GROUP.id, ALICE.id), (GROUP.id, BOB.id)}
    running = await start_app(api, db, library, clock)
    yield running
    await running.stop()


def removal(buttons: list[dict[str, object]]) -> str:
    [action] = [b["callback_data"] for b in buttons if b["text"] == REMOVE_LABEL]
    assert isinstance(action, str)
    return action


async def test_removing_support_in_a_private_chat_deletes_both_messages(bot: Running) -> None:
    api = bot.api
    await bot.say("/start", chat=DM)
    mark = len(api.calls)
    typed = api.say("/support", chat=DM)
    [answer] = await api.replies(1, chat_id=DM.id, after=mark)
    assert answer.text.startswith("🆘 In danger right now?") and answer.protected
    action = removal(answer.buttons)
    assert action == f"x:{typed}"
    ours = answer.result["message_id"]

    mark = len(api.calls)
    notice = await bot.tap(ours, action)
    assert notice.params.get("text") == REMOVED
    assert sorted(api.deleted) == sorted([(DM.id, ours), (DM.id, typed)])
    assert api.of("deleteMessage", ok=False) == []
    # Nothing was sent anywhere for it: not in the private chat, not in the group, not to Bob.
    assert [c for c in api.calls[mark:] if c.method.startswith("send")] == []
    assert api.sent(GROUP.id) == [] and api.sent(private_chat(BOB).id) == []

    # A second tap before the screen caught up: Telegram finds nothing, the answer stays kind.
    again = await bot.tap(ours, action)
    assert again.params.get("text") == NOT_REMOVED
    refused = api.of("deleteMessage", ok=False)
    assert refused and all(c.error == 400 for c in refused)
    assert [c for c in api.calls[mark:] if c.method.startswith("send")] == []


async def test_support_from_the_group_removes_only_tandems_answer(bot: Running) -> None:
    api = bot.api
    await bot.say("/start")
    offer = await bot.say("/pair")
    [code] = parse_qs(urlsplit(offer.urls[0]).query)["start"]
    await bot.say(f"/start {code}", chat=DM)
    mark = len(api.calls)
    api.say("/support")  # typed in the group: the answer goes to Alice's private chat
    [answer] = await api.replies(1, chat_id=DM.id, after=mark)
    [pointer] = await api.replies(1, chat_id=GROUP.id, after=mark)
    assert pointer.buttons == []
    action = removal(answer.buttons)
    assert action == "x"
    group_calls = len(api.sent(GROUP.id))

    notice = await bot.tap(answer.result["message_id"], action)
    assert notice.params.get("text") == REMOVED
    assert api.deleted == [(DM.id, answer.result["message_id"])]  # never the group's "/support"
    assert len(api.sent(GROUP.id)) == group_calls
