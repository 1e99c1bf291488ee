"""A partner whose private chat is gone (Tandem blocked, the chat deleted): that day they answer
in the shared chat, as a partner with no private chat does, and they are told once, only to
them, how to link a chat again (issue 22). The core and the console; Telegram's in tests/telegram."""

from __future__ import annotations

import io
from pathlib import Path

from adapters.console import SHARED, ConsoleAdapter
from bot.content import Library
from bot.messages import Outgoing, SendResult, SendStatus
from bot.partners.joining import RELINK
from bot.service import Tandem
from tests.conftest import build
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_two_voices import couple, dm, privately, tap

BLOCKED = SendResult(SendStatus.GONE, reason="Forbidden: bot was blocked by the user")


def here_for(name: str, sent: list[Outgoing]) -> Outgoing:
    [found] = [m for m in sent if m.text.startswith(f"💬 {name}, today's check-in is here")]
    return found


async def test_a_blocked_private_chat_brings_the_check_in_to_the_group_and_says_pair_once(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)  # each with a private chat; the check-in at 21:00
    messenger.fail(dm(BOB).chat_id, BLOCKED)  # Bob blocked Tandem, unannounced
    clock.set("2026-11-21T21:00:00+00:00")
    await lite.dispatch_due()
    sent = messenger.take()
    assert dm(BOB) not in [m.to for m in sent]
    for_bob = here_for("Bob", sent)
    assert for_bob.to == HOME
    assert [b.label for b in for_bob.buttons][:6] == ["1", "2", "3", "4", "5", "Skip today"]
    assert "blocked" not in for_bob.text and "gone" not in for_bob.text  # nothing of why

    first = await lite.handle(said(BOB, action=tap(for_bob, 3), whisper=True))
    told = [r for r in first if r.text == RELINK]
    assert len(told) == 1 and told[0].private and told[0].to == HOME  # to Bob alone
    assert "Thanks, Bob" in first[0].text and first[0].private
    again = await lite.handle(said(BOB, action=tap(for_bob, 4), whisper=True))
    assert RELINK not in [r.text for r in again]  # once
    alice_checkin = next(m for m in sent if m.to == dm(ALICE))
    replies = await lite.handle(privately(ALICE, action=tap(alice_checkin, 5)))
    assert any("Alice 5/5 · Bob 4/5" in r.text for r in replies if r.to == HOME)

    # The next day he is a partner with no private chat: the group's check-in has his buttons.
    clock.set("2026-11-22T21:00:00+00:00")
    await lite.dispatch_due()
    [group] = [m for m in messenger.take() if m.to == HOME and m.buttons]
    assert "No private chat with me yet?" in group.text
    later = await lite.handle(said(BOB, action=tap(group, 2), whisper=True))
    assert RELINK not in [r.text for r in later]


async def test_a_block_told_by_the_platform_is_also_said_once_on_the_first_tap_in_the_group(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    from bot.messages import Event, Incoming

    await couple(lite)
    await lite.handle(Incoming(dm(BOB), user_id=BOB[0], event=Event.REMOVED, direct=True))
    clock.set("2026-11-21T21:00:00+00:00")
    await lite.dispatch_due()
    [group] = [m for m in messenger.take() if m.to == HOME and m.buttons]
    first = await lite.handle(said(BOB, action=tap(group, 3), whisper=True))
    assert [r.text for r in first].count(RELINK) == 1
    assert RELINK not in [r.text for r in await lite.handle(said(BOB, action=tap(group, 3)))]
    # Alice, who kept her private chat, is never told.
    alice = await lite.handle(said(ALICE, action=tap(group, 4), whisper=True))
    assert RELINK not in [r.text for r in alice]


async def test_on_the_console_a_block_brings_the_check_in_to_the_shared_chat(
    tmp_path: Path, library: Library, clock: FixedClock
) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(out=out, export_dir=tmp_path)
    tandem = await build(f"sqlite:///{tmp_path}/console.db", clock, console, library)
    await console.start(tandem)
    try:
        for who in ("Alice", "Bob"):
            for line in (f"/as {who}", "/shared", "/start", "/pair", "1"):  # 1: open the link
                await console.feed(line)
        await console.feed("/shared")
        await console.feed("/checkin 21:00")
        await console.feed("/as Bob")
        await console.feed("/block")
        clock.set("2026-11-21T21:00:00+00:00")
        mark = len(out.getvalue())
        await tandem.dispatch_due()
        shown = out.getvalue()[mark:]
        assert "Bob's private chat]: 💬 Your check-in" not in shown
        assert "shared chat]: 💬 Bob, today's check-in is here for you too" in shown
        mark = len(out.getvalue())
        await console.feed("3")  # Bob, in the shared chat, taps 3
        shown = out.getvalue()[mark:]
        assert "(only Bob sees this) Thanks, Bob." in shown
        assert f"(only Bob sees this) {RELINK}" in shown
        mark = len(out.getvalue())
        await console.feed("4")
        assert RELINK not in out.getvalue()[mark:]
    finally:
        await tandem.store.close()
    assert SHARED.platform == "console"
