"""/repair after a hard moment (issue 21), as a couple lives it: an invitation to both, three
answers written privately, nothing of one partner's words reaching the other before both
finished, the reveal together, one thing each to do differently, and the ways out: a pause, a
"Not now", /reveal never, crisis words kept private, forgetting, and a quiet expiry."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text as sql

from bot.content import Library
from bot.messages import Address, Outgoing
from bot.service import Tandem
from tests.conftest import console_couple, export_of, exported
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_two_voices import couple, dm, privately

ALICE_SAYS = ("Alone and unheard", "To finish my sentence", "I raised my voice first")
BOB_SAYS = ("Cornered and tired", "Ten quiet minutes", "I walked out mid-sentence")


def button(message: Outgoing, label: str) -> str:
    [found] = [b.action for b in message.buttons if b.label == label]
    return found


async def invited(tandem: Tandem) -> dict[Address, Outgoing]:
    """A paired couple; Alice sends /repair in their group."""
    await couple(tandem)
    out = await tandem.handle(said(ALICE, "/repair"))
    return {m.to: m for m in out}


async def start(tandem: Tandem, who: tuple[str, str], invitation: Outgoing) -> Outgoing:
    [first] = await tandem.handle(privately(who, action=button(invitation, "Let's start")))
    assert first.to == dm(who) and "1 of 3" in first.text
    return first


async def write(tandem: Tandem, who: tuple[str, str], step: Outgoing, words: str) -> list[Outgoing]:
    """ "Write" tapped on the step's message, then the words sent as a reply to what it asked."""
    label = "✍️ Write" if any(b.label == "✍️ Write" for b in step.buttons) else "✍️ Write my own"
    [asked] = await tandem.handle(privately(who, action=button(step, label)))
    assert asked.asks and asked.to == dm(who) and "Only you see it" in asked.text
    return await tandem.handle(privately(who, words, reply_to="asked-1"))


async def write_all(
    tandem: Tandem, who: tuple[str, str], first: Outgoing, says: tuple[str, ...]
) -> list[Outgoing]:
    everything: list[Outgoing] = []
    step = first
    for words in says:
        out = await write(tandem, who, step, words)
        everything += out
        step = out[-1]
    return everything


def reaching(out: list[Outgoing], *chats: Address) -> str:
    return "\n".join(m.text for m in out if m.to in chats)


async def test_nothing_reaches_the_other_before_both_finished_then_both_are_shown_together(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    lite = tandem  # on SQLite and PostgreSQL: the words are sealed in place on both
    got = await invited(lite)
    # Both are invited, privately and alike; the group hears nothing of it.
    assert set(got) == {dm(ALICE), dm(BOB), HOME} and got[HOME].private
    assert "Alice invites you to a talk after a hard moment" in got[dm(BOB)].text
    assert "optional" in got[dm(BOB)].text
    assert [b.label for b in got[dm(BOB)].buttons] == ["Let's start", "Not now"]
    first = await start(lite, ALICE, got[dm(ALICE)])
    alice_out = await write_all(lite, ALICE, first, ALICE_SAYS)
    assert all(m.to == dm(ALICE) for m in alice_out)
    assert "2 of 3" in alice_out[0].text and "until you've both answered" in alice_out[-1].text
    assert not messenger.take()  # nothing was sent anywhere else either
    bob_first = await start(lite, BOB, got[dm(BOB)])
    bob_out = await write_all(lite, BOB, bob_first, BOB_SAYS[:2])
    assert not any(w in reaching(bob_out, dm(BOB), HOME) for w in ALICE_SAYS)
    revealed = await write(lite, BOB, bob_out[-1], BOB_SAYS[2])
    [shown] = [m for m in revealed if m.to == HOME]
    assert shown.protect and "You've both answered" in shown.text
    for words in (*ALICE_SAYS, *BOB_SAYS):
        assert f"“{words}”" in shown.text
    assert "What I felt: “Alone and unheard”" in shown.text and "My part:" in shown.text
    labels = [b.label for b in shown.buttons]
    assert labels[0] == "✍️ Write my own" and "Ask before I assume" in labels
    # Then each chooses one thing; the first choice waits, unseen, for the second.
    picked = await lite.handle(said(ALICE, action=button(shown, "Ask before I assume")))
    assert [m.to for m in picked] == [HOME] and picked[0].private
    own = await write(lite, BOB, shown, "Stay in the room and say I need a minute")
    [closing] = [m for m in own if m.to == HOME]
    assert "Alice: “Ask before I assume”" in closing.text
    assert "Bob: “Stay in the room and say I need a minute”" in closing.text
    made = await lite.handle(said(BOB, action=button(closing, "🤝 Make mine a promise")))
    assert any("Promise noted, Bob" in m.text and "Stay in the room" in m.text for m in made)
    listed = await lite.handle(privately(BOB, "/promises"))
    assert any("Stay in the room" in m.text for m in listed)


async def test_pause_is_told_without_words_and_resume_carries_on(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    got = await invited(lite)
    first = await start(lite, ALICE, got[dm(ALICE)])
    [saved] = await write(lite, ALICE, first, ALICE_SAYS[0])
    paused = await lite.handle(privately(ALICE, action=button(saved, "⏸ Pause")))
    [mine] = [m for m in paused if m.to == dm(ALICE)]
    [told] = [m for m in paused if m.to == dm(BOB)]
    assert "Paused" in mine.text and "Nothing you've written is shared" in mine.text
    assert "Alice has paused" in told.text and ALICE_SAYS[0] not in told.text
    assert "blame" not in told.text and not told.buttons
    # Bob, still only invited, is shown the invitation again, and nothing of Alice's.
    [waiting] = await lite.handle(privately(BOB, "/repair"))
    assert "open for you both" in waiting.text and ALICE_SAYS[0] not in waiting.text
    assert [b.label for b in waiting.buttons] == ["Let's start", "Not now"]
    clock.advance(days=2)
    [back] = await lite.handle(privately(ALICE, "/repair"))
    assert "Welcome back" in back.text and "2 of 3" in back.text
    out = await write_all(lite, ALICE, back, ALICE_SAYS[1:])
    assert "until you've both answered" in out[-1].text


async def test_not_now_ends_the_talk_kindly_and_keeps_nothing(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    got = await invited(lite)
    first = await start(lite, ALICE, got[dm(ALICE)])
    [saved] = await write(lite, ALICE, first, ALICE_SAYS[0])
    out = await lite.handle(privately(BOB, action=button(got[dm(BOB)], "Not now")))
    [told] = [m for m in out if m.to == dm(ALICE)]
    assert "Bob would rather not have this talk right now, and that's okay" in told.text
    assert all(m.to in (dm(ALICE), dm(BOB)) for m in out)
    async with lite.store.read() as session:
        rows = (await session.exec(sql("SELECT felt FROM repairpart"))).all()  # type: ignore[call-overload]
    assert rows and all(r[0] is None for r in rows)
    [ended] = await lite.handle(privately(ALICE, action=button(saved, "✍️ Write")))
    assert "ended" in ended.text and not ended.asks


async def test_after_not_now_the_other_cannot_invite_again_for_a_day(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    clock.set("2026-11-21T12:00:00+00:00")
    got = await invited(lite)
    await lite.handle(privately(BOB, action=button(got[dm(BOB)], "Not now")))
    messenger.take()
    clock.advance(hours=1)
    [held] = await lite.handle(privately(ALICE, "/repair"))
    assert "said not now to a talk a little while ago" in held.text
    assert "tomorrow at 12:00" in held.text and "Nothing was sent" in held.text
    assert held.to == dm(ALICE) and messenger.take() == []
    # The one who said not now may start one whenever they are ready.
    theirs = await lite.handle(privately(BOB, "/repair"))
    assert any(m.to == dm(ALICE) and m.buttons for m in theirs)


async def test_a_day_after_not_now_an_invitation_may_come_again(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    got = await invited(lite)
    await lite.handle(privately(BOB, action=button(got[dm(BOB)], "Not now")))
    clock.advance(hours=25)
    again = await lite.handle(said(ALICE, "/repair"))
    assert any(m.to == dm(BOB) and "Not now" in [b.label for b in m.buttons] for m in again)


async def test_with_reveal_never_each_keeps_their_own(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    await lite.handle(said(ALICE, "/reveal never"))
    got = {m.to: m for m in await lite.handle(said(BOB, "/repair"))}
    await write_all(lite, ALICE, await start(lite, ALICE, got[dm(ALICE)]), ALICE_SAYS)
    out = await write_all(lite, BOB, await start(lite, BOB, got[dm(BOB)]), BOB_SAYS)
    [both] = [m for m in out if m.to == HOME]
    assert "stay with each of you" in both.text
    assert not any(w in both.text for w in (*ALICE_SAYS, *BOB_SAYS))
    export = exported(await lite.handle(privately(BOB, "/export")), ".txt")
    assert export.attachment is not None
    readable = export.attachment.data.decode()
    assert "(both wrote their part)" in readable and "revealed" not in readable.lower()
    await lite.handle(said(ALICE, action=button(both, "Ask before I assume")))
    done = await lite.handle(said(BOB, action=button(both, "Say what I need, sooner")))
    [closing] = [m for m in done if m.to == HOME]
    assert "Each of you keeps your own" in closing.text and "Ask before" not in closing.text
    # Made a promise, it stays the chooser's alone: asked in their private chat, not the group.
    made = await lite.handle(said(ALICE, action=button(closing, "🤝 Make mine a promise")))
    assert all(m.to != HOME or m.private for m in made)
    assert any(m.to == dm(ALICE) and "Ask before I assume" in m.text for m in made)


async def test_crisis_words_get_help_first_and_are_never_shown(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    got = await invited(lite)
    first = await start(lite, ALICE, got[dm(ALICE)])
    out = await write(lite, ALICE, first, "Honestly I want to kill myself some days.")
    assert all(m.to == dm(ALICE) for m in out) and len(out) >= 2
    assert "stays with you" in out[0].text  # the help comes first
    step = out[-1]
    rest = await write_all(lite, ALICE, step, ALICE_SAYS[1:])
    bob = await write_all(lite, BOB, await start(lite, BOB, got[dm(BOB)]), BOB_SAYS)
    [shown] = [m for m in [*rest, *bob] if m.to == HOME]
    assert "kill" not in shown.text and ALICE_SAYS[1] not in shown.text
    assert "Alice kept their answers private this time." in shown.text
    assert f"“{BOB_SAYS[0]}”" in shown.text


async def test_words_are_sealed_exported_to_their_author_and_forgotten(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    got = await invited(lite)
    await write_all(lite, ALICE, await start(lite, ALICE, got[dm(ALICE)]), ALICE_SAYS)
    await write(lite, BOB, await start(lite, BOB, got[dm(BOB)]), BOB_SAYS[0])
    async with lite.store.read() as session:
        raw = (await session.exec(sql("SELECT felt FROM repairpart"))).all()  # type: ignore[call-overload]
    assert all("unheard" not in r[0] and "Cornered" not in r[0] for r in raw)
    export = await export_of(lite, privately(ALICE, "/export"))
    assert export.attachment is not None
    data = json.loads(export.attachment.data)
    [talk] = data["repair_talks"]
    assert talk["felt"] == ALICE_SAYS[0] and talk["own_part"] == ALICE_SAYS[2]
    assert talk["talk"] == "being written"  # where it got to, in words that claim nothing
    assert "Cornered" not in export.attachment.data.decode()
    [ask] = await lite.handle(privately(ALICE, "/forget me"))
    await lite.handle(privately(ALICE, action=ask.buttons[0].action))
    async with lite.store.read() as session:
        left = (await session.exec(sql("SELECT count(*) FROM repairpart"))).one()  # type: ignore[call-overload]
    assert left[0] == 1  # Bob's own part stays his


async def test_an_unfinished_talk_expires_quietly(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    got = await invited(lite)
    first = await start(lite, ALICE, got[dm(ALICE)])
    [saved] = await write(lite, ALICE, first, ALICE_SAYS[0])
    clock.advance(days=6)
    assert (await lite.housekeeper.run()) is not None
    assert not messenger.take()  # quietly: nobody is told
    async with lite.store.read() as session:
        left = (await session.exec(sql("SELECT count(*) FROM repairpart"))).one()  # type: ignore[call-overload]
    assert left[0] == 0
    [late] = await lite.handle(privately(ALICE, action=button(saved, "✍️ Write")))
    assert "ended" in late.text
    fresh = {m.to: m for m in await lite.handle(privately(BOB, "/repair"))}
    assert "Bob invites you" in fresh[dm(ALICE)].text


async def test_repair_needs_two_and_a_private_place(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await lite.handle(said(ALICE, "/start"))
    [alone] = await lite.handle(said(ALICE, "/repair"))
    assert "for the two of you" in alone.text and "/pair" in alone.text
    await lite.handle(said(BOB, "/start"))
    [group] = await lite.handle(said(ALICE, "/repair"))
    assert group.to == HOME and [b.label for b in group.buttons] == ["Let's start", "Not now"]
    # A tap in the group (a Telegram toast) is told where the words go; nothing is asked there.
    [refused] = await lite.handle(said(BOB, action=button(group, "Let's start"), whisper=True))
    assert "private chat" in refused.text and refused.private and not refused.buttons
    [again] = await lite.handle(said(BOB, "/repair"))
    assert again.to == HOME and "open for you both" in again.text


async def test_on_the_console_reply_writes_the_answers(
    sqlite_url: str, clock: FixedClock, library: Library, tmp_path: Path
) -> None:
    console, out, tandem = await console_couple(sqlite_url, clock, library, tmp_path)
    for line in ["/as Alice", "/repair", "1", "1", "/reply Unheard."]:
        await console.feed(line)
    shown = out.getvalue()
    assert "✍️ Saved: “Unheard.”" in shown and "2 of 3" in shown
    unheard = [block for block in shown.split("\n\n") if "Unheard" in block]
    assert unheard and all("Alice's private chat]" in b.split("\n")[0] for b in unheard)
    await tandem.store.close()
