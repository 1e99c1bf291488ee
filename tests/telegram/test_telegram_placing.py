"""What the core hears from Telegram (where, and how privately), and where each of its replies
goes: the adapter against the fake Bot API, with a scripted core standing in for Tandem."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest

from adapters.telegram_adapter import TelegramAdapter
from bot.messages import Address, Button, Event, Incoming, Outgoing
from bot.service import Tandem
from tests.telegram.fake_api import ALICE, BOB, DM, GROUP, USERNAME, FakeBotApi, private_chat
from tests.telegram.harness import FAST, settings_for, until

BOB_DM = private_chat(BOB)


def to(chat_id: int) -> Address:
    return Address("telegram", str(chat_id))


@dataclass
class ScriptedCore:
    """Stands in for Tandem: keeps what it hears, and answers with what the test scripted."""

    heard: list[Incoming] = field(default_factory=list)
    script: deque[list[Outgoing]] = field(default_factory=deque)

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        self.heard.append(incoming)
        if incoming.event is Event.REMOVED or not self.script:
            return []
        return self.script.popleft()

    async def move(self, old: Address, new: Address) -> None:
        return None

    async def hears(self, count: int) -> list[Incoming]:
        async def enough() -> bool:
            return len(self.heard) >= count

        await until(enough)
        return self.heard


@dataclass
class Wired:
    api: FakeBotApi
    core: ScriptedCore
    adapter: TelegramAdapter


@pytest.fixture
async def wired(api: FakeBotApi, db: Path) -> AsyncIterator[Wired]:
    core = ScriptedCore()
    # Alice and Bob have pressed Start in their private chats (the core writes to a private chat
    # only once it is linked), so Telegram lets the bot write there.
    api.open_private(ALICE, BOB)
    adapter = TelegramAdapter(settings_for(api, db), **FAST)
    await adapter.start(cast(Tandem, core))
    yield Wired(api, core, adapter)
    await adapter.stop()


async def test_a_group_command_is_public_and_a_private_chat_is_direct_and_private(
    wired: Wired,
) -> None:
    wired.api.say("/remind 8pm", user=ALICE, chat=GROUP)
    wired.api.say("/start Ab-9_cd", user=ALICE, chat=DM)

    in_group, in_private = await wired.core.hears(2)

    assert (in_group.to, in_group.text) == (to(GROUP.id), "/remind 8pm")
    assert not in_group.direct and not in_group.whisper
    assert (in_private.to, in_private.text) == (to(DM.id), "/start Ab-9_cd")  # passed as is
    assert in_private.direct and in_private.whisper
    assert (in_private.user_id, in_private.user_name) == (str(ALICE.id), "Alice")


async def test_a_tap_is_a_whisper_in_a_group_and_in_a_private_chat(wired: Wired) -> None:
    sent = await wired.adapter.send(Outgoing(to(DM.id), "Pick", (Button("1", "a:1:1"),)))
    assert sent.message_id is not None

    wired.api.tap(900, "a:1:4", user=BOB)  # a check-in in the group
    wired.api.tap(int(sent.message_id), "a:1:1", user=ALICE)

    in_group, in_private = await wired.core.hears(2)
    assert (in_group.to, in_group.action) == (to(GROUP.id), "a:1:4")
    assert in_group.whisper and not in_group.direct
    assert (in_private.to, in_private.action) == (to(DM.id), "a:1:1")
    assert in_private.whisper and in_private.direct


async def test_a_private_answer_with_a_start_button_opens_the_private_chat_in_one_tap(
    wired: Wired,
) -> None:
    wired.core.script.append(
        [
            Outgoing(
                to(GROUP.id),
                "Opening your private chat with me.",
                (Button("Open my private chat", start="c0de-XY_z"),),
                private=True,
            )
        ]
    )
    query = wired.api.tap(900, "p", user=BOB)

    [answer] = await wired.api.wait_for(lambda: wired.api.of("answerCallbackQuery"))

    assert answer.params["callback_query_id"] == query
    assert answer.params["url"] == f"https://t.me/{USERNAME}?start=c0de-XY_z"
    assert answer.params["text"] == "Opening your private chat with me."
    assert wired.api.sent() == []  # nothing shown in the group


async def test_each_reply_goes_to_its_own_chat_and_only_the_askers_chat_quotes_them(
    wired: Wired,
) -> None:
    wired.core.script.append(
        [
            Outgoing(to(GROUP.id), "Only for you, Alice.", private=True),
            Outgoing(to(DM.id), "Your private words.", protect=True),
            Outgoing(to(BOB_DM.id), "Alice has answered."),
        ]
    )
    typed = wired.api.say("/checkin", user=ALICE, chat=GROUP)

    await wired.api.wait_for(lambda: len(wired.api.sent()) == 3)

    [here] = wired.api.sent(GROUP.id)
    [mine] = wired.api.sent(DM.id)
    [bobs] = wired.api.sent(BOB_DM.id)
    assert here.params["reply_parameters"]["message_id"] == typed
    assert "reply_parameters" not in mine.params and "reply_parameters" not in bobs.params
    assert mine.protected and not bobs.protected and not here.protected


async def test_a_tap_in_a_private_chat_can_produce_the_groups_reveal(wired: Wired) -> None:
    wired.core.script.append(
        [
            Outgoing(to(BOB_DM.id), "Thanks, Bob.", private=True),
            Outgoing(to(GROUP.id), "💛 You've both checked in. Alice 4/5 · Bob 2/5", protect=True),
        ]
    )
    sent = await wired.adapter.send(Outgoing(to(BOB_DM.id), "Your check-in"))
    assert sent.message_id is not None
    wired.api.tap(int(sent.message_id), "a:1:2", user=BOB)

    [reveal] = await wired.api.replies(1, chat_id=GROUP.id)

    assert reveal.protected
    [answer] = wired.api.of("answerCallbackQuery")
    assert answer.params["text"] == "Thanks, Bob."
    assert len(wired.api.sent(BOB_DM.id)) == 1  # only the check-in itself


async def test_in_a_private_chat_a_tap_answer_with_choices_becomes_a_message(
    wired: Wired,
) -> None:
    choices = (Button("Keep private", "ns:1:0"), Button("Share at the reveal", "ns:1:1"))
    wired.core.script.append([Outgoing(to(DM.id), "Note saved.", choices, private=True)])
    sent = await wired.adapter.send(Outgoing(to(DM.id), "Your check-in"))
    assert sent.message_id is not None
    wired.api.tap(int(sent.message_id), "n:1", user=ALICE)

    [message] = await wired.api.replies(1, chat_id=DM.id, after=len(wired.api.calls))

    assert message.text == "Note saved."
    assert message.actions == ["ns:1:0", "ns:1:1"]


async def test_a_partner_who_blocked_tandem_is_reported_and_the_other_replies_still_go(
    wired: Wired,
) -> None:
    wired.core.script.append(
        [
            Outgoing(to(BOB_DM.id), "Alice has answered."),
            Outgoing(to(BOB_DM.id), "And a second line for Bob."),
            Outgoing(to(GROUP.id), "Thanks, Alice.", private=True),
        ]
    )
    wired.api.fail_next(
        "sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=BOB_DM.id
    )
    wired.api.say("/checkin", user=ALICE, chat=GROUP)

    [thanks] = await wired.api.replies(1, chat_id=GROUP.id)
    heard = await wired.core.hears(2)

    assert thanks.text == "Thanks, Alice."
    assert heard[1] == Incoming(
        to(BOB_DM.id), user_id=str(BOB.id), event=Event.REMOVED, direct=True, whisper=True
    )
    assert len(wired.api.of("sendMessage", chat_id=BOB_DM.id, ok=False)) == 1  # tried once


async def test_membership_is_confirmed_by_getchatmember_or_refused(wired: Wired) -> None:
    wired.api.members.add((GROUP.id, ALICE.id))
    group = to(GROUP.id)

    assert await wired.adapter.is_member(group, str(ALICE.id))
    assert not await wired.adapter.is_member(group, str(BOB.id))  # "left"
    wired.api.fail_next("getChatMember", 400, "Bad Request: user not found")
    assert not await wired.adapter.is_member(group, str(ALICE.id))
    wired.api.fail_next("getChatMember", 403, "Forbidden: bot was kicked from the supergroup")
    assert not await wired.adapter.is_member(group, str(ALICE.id))
    assert not await wired.adapter.is_member(group, "not-a-number")
    wired.api.offline = True
    assert not await wired.adapter.is_member(group, str(ALICE.id))
    wired.api.offline = False

    asked = wired.api.of("getChatMember")
    assert {(c.chat_id, c.params["user_id"]) for c in asked} == {
        (GROUP.id, ALICE.id),
        (GROUP.id, BOB.id),
    }


async def test_in_a_private_chat_a_tap_answered_in_place_edits_the_tapped_message(
    wired: Wired,
) -> None:
    """A choice made (a note kept, say) replaces the message its buttons were on: they go, and
    no later tap on them can seem to undo it. Short as it is, it is not a passing notice."""
    sent = await wired.adapter.send(
        Outgoing(to(DM.id), "Keep this as today's private note?", (Button("Keep", "o:1:k"),))
    )
    assert sent.message_id is not None
    kept = Outgoing(to(DM.id), "🔒 Kept.", private=True, edit=sent.message_id)
    wired.core.script.append([kept])
    wired.api.tap(int(sent.message_id), "o:1:k", user=ALICE)

    [edit] = await wired.api.wait_for(lambda: wired.api.of("editMessageText"))
    assert edit.params["message_id"] == int(sent.message_id)
    assert edit.params["text"] == "🔒 Kept."
    assert not edit.params.get("reply_markup", {}).get("inline_keyboard")  # the buttons went
    [answer] = await wired.api.wait_for(lambda: wired.api.of("answerCallbackQuery"))
    assert not answer.params.get("text")  # no notice besides
