"""Leave no trace where someone may be watched: every /support answer and every crisis reply
carries "Remove this from the chat", which removes it (and, in a private chat, the person's own
message that led to it), says so to them alone, and writes nothing down.

The chats: HOME is the couple's group; dm(ALICE) and dm(BOB) are each one's private chat.
A message's `message_ref` is its platform id: the person's own message, or on a tap, Tandem's
message whose button was tapped (FakeMessenger ids look like "m3"; people's here like "41").
"""

from __future__ import annotations

import io
from pathlib import Path

from sqlmodel import select

from bot import actions
from bot.app import Router
from bot.messages import Address, Outgoing, SendResult
from bot.safety.replies import (
    NOT_REMOVED,
    ONLY_YOURS,
    OPEN_PRIVATELY,
    REMOVE_LABEL,
    REMOVED,
    THEIRS_KEPT,
)
from bot.service import Tandem
from bot.store import Space
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_two_voices import (
    checkin_due,
    couple,
    dm,
    one_linked,
    pair,
    privately,
    start_code,
)

THEIRS = "41"  # the id of the message the person typed
OURS = "m77"  # the id the platform gave Tandem's reply


def removal(reply: Outgoing) -> str:
    """The action of the reply's "Remove this from the chat" button (it must have one)."""
    [action] = [b.action for b in reply.buttons if b.label == REMOVE_LABEL]
    assert actions.removes(action)
    return action


def no_removal(reply: Outgoing) -> bool:
    return all(b.label != REMOVE_LABEL and not actions.removes(b.action) for b in reply.buttons)


async def spaces(tandem: Tandem) -> list[str]:
    async with tandem.store.unit() as session:
        return [s.chat_id for s in (await session.exec(select(Space))).all()]


# ---- The button is on every /support answer and every crisis reply ---------------------------


async def test_support_in_a_private_chat_offers_to_remove_it_and_the_command(lite: Tandem) -> None:
    await pair(lite, ALICE)
    [answer] = await lite.handle(privately(ALICE, "/support", message_ref=THEIRS))
    assert answer.to == dm(ALICE) and answer.text.startswith("🆘 In danger right now?")
    assert removal(answer) == f"x:{THEIRS}"


async def test_support_from_the_group_offers_removal_in_the_private_chat_only(
    lite: Tandem,
) -> None:
    await pair(lite, ALICE)
    replies = await lite.handle(said(ALICE, "/support", message_ref=THEIRS))
    [answer] = [r for r in replies if r.to == dm(ALICE)]
    [pointer] = [r for r in replies if r.to == HOME]
    # The person's "/support" is in the group, where Tandem may not remove it: only its own.
    assert removal(answer) == "x"
    assert no_removal(pointer)


async def test_support_opened_by_its_link_and_the_ephemeral_answer_offer_it_too(
    lite: Tandem,
) -> None:
    await lite.handle(said(ALICE, "/start"))
    [neutral] = await lite.handle(said(ALICE, "/support"))
    # The neutral line in the group says nothing of why, and looks like any other: no button.
    assert neutral.to == HOME and no_removal(neutral)
    [answer] = await lite.handle(
        privately(ALICE, f"/start {start_code(neutral)}", message_ref=THEIRS)
    )
    assert answer.to == dm(ALICE) and removal(answer) == f"x:{THEIRS}"
    # Discord's ephemeral answer: the core offers it, and the adapter leaves it off.
    [ephemeral] = await lite.handle(said(ALICE, "/support", whisper=True))
    assert ephemeral.private and removal(ephemeral) == "x"


async def test_crisis_replies_offer_removal_wherever_they_are_given(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await one_linked(lite)  # Bob answers in the group: it has the check-in
    sent = await checkin_due(lite, clock, messenger)
    # Words typed in a private chat that is linked to nothing: the reply and the words can go.
    [care] = await lite.handle(
        privately(("u9", "Eve"), "I don't feel safe at home", message_ref="5")
    )
    assert removal(care) == "x:5"
    # A note in the private chat, as a reply to the check-in.
    reply_to = messenger.message_id_of(sent[dm(ALICE)])
    saved, care = await lite.handle(
        privately(ALICE, "he hit me", reply_to=reply_to, message_ref="6")
    )
    assert no_removal(saved) and removal(care) == "x:6"
    # A note typed in the group goes to the private chat: only Tandem's reply can go.
    replies = await lite.handle(
        said(ALICE, "I want to die", reply_to=messenger.message_id_of(sent[HOME]), message_ref="7")
    )
    [care] = [r for r in replies if r.to == dm(ALICE)]
    assert removal(care) == "x"
    assert all(no_removal(r) for r in replies if r.to == HOME)
    # A promise in the group.
    replies = await lite.handle(said(ALICE, "/promise call the helpline, I'm afraid of him"))
    [care] = [r for r in replies if r.to == dm(ALICE)]
    assert removal(care) == "x"


async def test_with_no_private_place_the_neutral_line_has_no_removal(lite: Tandem) -> None:
    await lite.handle(said(ALICE, "/start"))
    await lite.handle(said(BOB, "/start"))
    replies = await lite.handle(said(BOB, "/promise call the helpline, I'm afraid of her"))
    [line] = [r for r in replies if r.text == OPEN_PRIVATELY]
    assert no_removal(line)


# ---- Tapping it ------------------------------------------------------------------------------


async def test_tapping_removes_the_reply_and_the_message_and_tells_only_them(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    await couple(lite)
    [answer] = await lite.handle(privately(ALICE, "/support", message_ref=THEIRS))
    replies = await lite.handle(privately(ALICE, action=removal(answer), message_ref=OURS))
    assert messenger.deleted == [(dm(ALICE), OURS), (dm(ALICE), THEIRS)]
    assert [(r.to, r.text, r.private) for r in replies] == [(dm(ALICE), REMOVED, True)]
    assert messenger.sent == []  # nothing said anywhere else: not the group, not Bob

    # A second tap (the message was still on screen a moment): harmless, and kind.
    [again] = await lite.handle(privately(ALICE, action=removal(answer), message_ref=OURS))
    assert again.to == dm(ALICE) and again.private and again.text == NOT_REMOVED
    assert len(messenger.deleted) == 2 and messenger.sent == []


async def test_a_tap_with_only_tandems_message_removes_that_alone(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    await pair(lite, ALICE)
    replies = await lite.handle(said(ALICE, "/support", message_ref=THEIRS))
    [answer] = [r for r in replies if r.to == dm(ALICE)]
    [done] = await lite.handle(privately(ALICE, action=removal(answer), message_ref=OURS))
    assert messenger.deleted == [(dm(ALICE), OURS)]  # never the group's "/support"
    assert done.text == REMOVED and done.to == dm(ALICE)


async def test_when_their_own_message_cannot_go_they_are_told_gently(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    await pair(lite, ALICE)
    messenger.deleted.append((dm(ALICE), THEIRS))  # they deleted it themselves already
    [done] = await lite.handle(privately(ALICE, action=f"x:{THEIRS}", message_ref=OURS))
    assert done.text == THEIRS_KEPT and (dm(ALICE), OURS) in messenger.deleted


async def test_a_tap_makes_no_space_and_needs_no_partner(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    stranger = ("u9", "Eve")
    [care] = await lite.handle(privately(stranger, "he hits me", message_ref="5"))
    assert await spaces(lite) == []
    [done] = await lite.handle(privately(stranger, action=removal(care), message_ref=OURS))
    assert done.text == REMOVED and done.private
    assert messenger.deleted == [(dm(stranger), OURS), (dm(stranger), "5")]
    assert await spaces(lite) == []  # the tap left nothing in the database


async def test_a_tap_outside_a_private_chat_removes_nothing(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    await couple(lite)
    # A tap in the group (a forged one: the button is never on a group's message) must not
    # remove the group's messages, nor say anything the partner could read.
    [answer] = await lite.handle(said(ALICE, action="x:12", message_ref="m1", whisper=True))
    assert messenger.deleted == []
    assert answer.to == HOME and answer.private and answer.text == ONLY_YOURS


# ---- The action, the router, the console -----------------------------------------------------


def test_the_action_fits_telegrams_64_bytes_and_reads_back() -> None:
    longest = actions.remove("9" * 40)
    assert len(longest.encode()) <= 64
    assert actions.parse(longest) == actions.Remove("9" * 40)
    assert actions.parse("x") == actions.Remove(None)
    assert actions.remove("9" * 41) == "x" and actions.remove("no spaces") == "x"
    assert actions.parse("x:") is None and not actions.removes("pr:3:x")


class Deleting(FakeMessenger):
    platform = "chat"

    async def start(self, tandem: Tandem) -> None: ...

    async def stop(self) -> None: ...


class NotDeleting:
    platform = "old"

    async def send(self, msg: Outgoing) -> SendResult:
        return SendResult.delivered()

    async def start(self, tandem: Tandem) -> None: ...

    async def stop(self) -> None: ...


async def test_the_router_removes_through_the_adapter_of_the_platform() -> None:
    chat = Deleting()
    router = Router({"chat": chat, "old": NotDeleting()})
    assert await router.delete(Address("chat", "1"), "m1")
    assert chat.deleted == [(Address("chat", "1"), "m1")]
    assert not await router.delete(Address("old", "1"), "m1")  # no way to remove there
    assert not await router.delete(Address("gone", "1"), "m1")  # no adapter


async def test_the_console_says_the_message_was_removed(tmp_path: Path) -> None:
    from adapters.console import ConsoleAdapter
    from bot.app import App
    from bot.settings import Settings

    out = io.StringIO()
    console = ConsoleAdapter(out=out, export_dir=tmp_path)
    app = App(Settings(database_url=f"sqlite:///{tmp_path}/app.db"), [console], clock=FixedClock())
    await app.start()
    try:
        for line in ("/start", "/private"):
            await console.feed(line)
        await console.feed("/support")
        shown = out.getvalue()
        assert "[1] Remove this from the chat" in shown
        number = shown.rsplit("Tandem [#", 1)[1].split(",", 1)[0]
        mark = len(out.getvalue())
        await console.feed("1")
        shown = out.getvalue()[mark:]
        assert f"(message #{number} removed from Alice's private chat)" in shown
        assert f"Alice's private chat]: {REMOVED}" in shown
    finally:
        await app.stop()
