"""Two voices and a shared space: each partner's private chat, answers revealed together, sides.

The chats: HOME is the couple's group; dm(ALICE) and dm(BOB) are each one's private chat with
Tandem. Everything is asserted from where a person sits: what reaches which chat.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re

from sqlmodel import select

from bot.messages import Address, Incoming, Outgoing
from bot.service import Tandem
from bot.store import PairCode
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said

CAROL = ("u3", "Carol")


def dm(who: tuple[str, str]) -> Address:
    return Address(HOME.platform, f"dm-{who[0]}")


def privately(who: tuple[str, str], text: str = "", **kwargs: object) -> Incoming:
    return said(who, text, to=dm(who), direct=True, whisper=True, **kwargs)


def start_code(reply: Outgoing) -> str:
    [button] = [b for b in reply.buttons if b.start]
    assert button.start is not None
    return button.start


async def pair(tandem: Tandem, who: tuple[str, str]) -> None:
    """/start and /pair in the group, then the link opened in the private chat."""
    await tandem.handle(said(who, "/start"))
    [link] = await tandem.handle(said(who, "/pair"))
    [linked] = await tandem.handle(privately(who, f"/start {start_code(link)}"))
    assert linked.to == dm(who) and "🔒 Linked" in linked.text


async def private_couple(tandem: Tandem) -> None:
    """Alice and Bob with no group: her /pair invitation, opened by him in his private chat."""
    await tandem.handle(privately(ALICE, "/start"))
    [invite] = await tandem.handle(privately(ALICE, "/pair"))
    await tandem.handle(privately(BOB, f"/start {start_code(invite)}"))


async def couple(tandem: Tandem) -> None:
    await pair(tandem, ALICE)
    await pair(tandem, BOB)
    await tandem.handle(said(ALICE, "/checkin 21:00"))


async def one_linked(
    tandem: Tandem, linked: tuple[str, str] = ALICE, other: tuple[str, str] = BOB
) -> None:
    """One partner with a private chat, the other answering in the group: the group gets the
    check-in (a group where both answer in private gets none, issue 21)."""
    await pair(tandem, linked)
    await tandem.handle(said(other, "/start"))
    await tandem.handle(said(linked, "/checkin 21:00"))


async def checkin_due(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> dict[Address, Outgoing]:
    clock.set("2026-11-21T21:00:00+00:00")
    await tandem.dispatch_due()
    return {m.to: m for m in messenger.take()}


def tap(checkin: Outgoing, score: int) -> str:
    return checkin.buttons[score - 1].action


async def test_pairing_links_each_private_chat_and_checks_the_group(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    await lite.handle(said(ALICE, "/start"))
    [link] = await lite.handle(said(ALICE, "/pair"))
    code = start_code(link)
    # 144 random bits: 24 characters of URL-safe base64 (6 bits each), nothing else.
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", code), code
    async with lite.store.unit() as session:
        stored = (await session.exec(select(PairCode))).all()
    # Only a one-way hash is kept: SHA-256 of the code, never the code or a reversible form.
    assert [p.code_hash for p in stored] == [hashlib.sha256(code.encode()).hexdigest()]
    [link2] = await lite.handle(said(ALICE, "/pair"))
    assert start_code(link2) != code  # each link is new
    messenger.members = {(HOME.chat_id, ALICE[0])}
    [refused] = await lite.handle(privately(CAROL, f"/start {code}"))
    assert "couldn't confirm that you're in the group" in refused.text
    [linked] = await lite.handle(privately(ALICE, f"/start {code}"))
    assert "🔒 Linked" in linked.text
    [again] = await lite.handle(said(ALICE, "/pair"))
    assert "already linked" in again.text
    [bad] = await lite.handle(privately(BOB, "/start not-a-real-code"))
    assert "expired or was already used" in bad.text


async def test_a_pairing_link_expires_after_a_day(lite: Tandem, clock: FixedClock) -> None:
    await lite.handle(said(ALICE, "/start"))
    [link] = await lite.handle(said(ALICE, "/pair"))
    clock.advance(hours=24, seconds=1)
    [expired] = await lite.handle(privately(ALICE, f"/start {start_code(link)}"))
    assert "expired" in expired.text


async def test_private_checkins_are_revealed_together_in_the_group(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    # Both answer in private: the group hears nothing until the reveal (issue 21).
    assert set(sent) == {dm(ALICE), dm(BOB)}
    alice_checkin, bob_checkin = sent[dm(ALICE)], sent[dm(BOB)]
    assert alice_checkin.protect and "Your check-in for Sat 21 Nov" in alice_checkin.text
    # The scores, then today's question (issue 21) in the same message.
    assert [b.label for b in alice_checkin.buttons][5:] == [
        "Skip today",
        "✍️ Answer",
        "Pass on this one",
        "Another question",
    ]

    ack, nudge = await lite.handle(privately(ALICE, action=tap(alice_checkin, 4)))
    assert ack.to == dm(ALICE) and "when Bob has answered" in ack.text
    assert nudge.to == dm(BOB) and "4" not in nudge.text.replace("21", "")
    reply_to = messenger.message_id_of(alice_checkin)
    [saved] = await lite.handle(privately(ALICE, "I was scared and didn't say", reply_to=reply_to))
    assert [b.label for b in saved.buttons] == ["Keep private", "Share at the reveal"]
    [kept] = await lite.handle(privately(ALICE, action=saved.buttons[1].action))
    assert kept.to == dm(ALICE) and "shown with the answers" in kept.text
    # Nothing of Alice's answer has reached the group or Bob.
    [progress] = await lite.handle(said(BOB, "/progress"))
    assert "4/5" not in progress.text and "scared" not in progress.text
    [bob_view] = await lite.handle(privately(BOB, "/progress"))
    assert "Alice" not in bob_view.text

    ack, reveal = await lite.handle(privately(BOB, action=tap(bob_checkin, 2)))
    assert reveal.to == HOME and reveal.protect
    assert "Alice 4/5 · Bob 2/5" in reveal.text
    assert "📝 Alice: “I was scared and didn't say”" in reveal.text
    [mine] = await lite.handle(privately(ALICE, "/progress"))
    assert "Alice 4/5 📝, Bob 2/5" in mine.text


async def test_a_private_note_never_reaches_the_partner(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    reply_to = messenger.message_id_of(sent[dm(BOB)])
    await lite.handle(privately(BOB, "thinking about leaving", reply_to=reply_to))
    await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 3)))
    replies = await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 3)))
    assert all("leaving" not in r.text for r in replies)
    alice_files = await lite.handle(said(ALICE, "/export"))
    for file_note in alice_files[:2]:  # to read, and the JSON
        assert file_note.to == dm(ALICE) and file_note.attachment is not None
        assert b"leaving" not in file_note.attachment.data
    [bob_text, bob_file, sent_line] = await lite.handle(said(BOB, "/export"))
    assert bob_file.to == dm(BOB) and sent_line.private
    assert bob_file.attachment is not None and b"leaving" in bob_file.attachment.data
    assert bob_text.attachment is not None and b"leaving" in bob_text.attachment.data
    exported = json.loads(bob_file.attachment.data)
    alice = next(m for m in exported["members"] if m["name"] == "Alice")
    assert "side" not in alice and "private_chat" not in alice


async def test_a_partner_without_a_private_chat_answers_in_the_group(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await pair(lite, ALICE)
    await lite.handle(said(BOB, "/start"))
    await lite.handle(said(ALICE, "/checkin 21:00"))
    sent = await checkin_due(lite, clock, messenger)
    assert set(sent) == {HOME, dm(ALICE)}
    group = sent[HOME]
    assert "No private chat with me yet?" in group.text
    private = next(b for b in group.buttons if b.label == "🔒 Answer privately")
    [ack, _nudge] = await lite.handle(said(BOB, action=tap(group, 5), whisper=True))
    assert ack.private and ack.to == HOME
    [link] = await lite.handle(said(BOB, action=private.action, whisper=True))
    assert start_code(link)


async def test_the_reveal_rule_never_and_instant(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    [set_never] = await lite.handle(said(BOB, "/reveal never"))
    assert "never" in set_never.text
    [refused] = await lite.handle(said(CAROL, "/reveal instant"))
    assert "Only this space's two partners" in refused.text
    sent = await checkin_due(lite, clock, messenger)
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 4)))
    _, reveal = await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 1)))
    assert (
        "both checked in" in reveal.text and "4/5" not in reveal.text and "1/5" not in reveal.text
    )
    [shared] = await lite.handle(said(ALICE, "/progress"))
    assert "1/5" not in shared.text and "4/5" not in shared.text
    [mine] = await lite.handle(privately(BOB, "/progress"))
    assert "Bob 1/5" in mine.text and "Alice" not in mine.text

    await lite.handle(said(ALICE, "/reveal instant"))
    clock.advance(days=1)
    await lite.dispatch_due()
    sent = {m.to: m for m in messenger.take()}
    replies = await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 5)))
    assert any(r.to == HOME and "Alice: 5/5" in r.text for r in replies)


async def test_each_side_gets_its_prompts_in_private_only(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, library: object
) -> None:
    await couple(lite)
    [pointer] = await lite.handle(said(BOB, "/perspective"))  # typed in the group
    assert not pointer.buttons and "private chat" in pointer.text
    [choice] = await lite.handle(privately(BOB, "/perspective"))
    assert [b.label for b in choice.buttons] == [
        "I'm learning to trust again",
        "I'm working to earn trust back",
        "Both, or I'd rather not say",
    ]
    [saved] = await lite.handle(privately(BOB, action=choice.buttons[1].action))
    assert saved.to == dm(BOB) and "Only you see this" in saved.text
    await lite.handle(said(ALICE, "/remind 20:00"))
    side_prompts: list[str] = []
    for day in range(4):
        for at in ("20:00", "21:00"):  # the step, then the check-ins
            clock.set(f"2026-11-2{2 + day}T{at}:00+00:00")
            await lite.dispatch_due()
            for msg in messenger.take():
                if msg.to == HOME:
                    assert "Today's step" in msg.text and "Just for you" not in msg.text
                elif "Just for you" in msg.text:
                    # Below his check-in, in his private chat only: Alice chose no side.
                    assert msg.to == dm(BOB) and msg.protect, msg
                    check_in, side = msg.text.split("\n\n🌱 Just for you today")
                    assert "💬 Your check-in" in check_in
                    side_prompts.append(side.split("\n\n", 1)[1])
    assert len(side_prompts) == 2  # every other day
    by_text = {p.text: p for p in library.prompts}  # type: ignore[attr-defined]
    assert all(by_text[body].audience == "doubted" for body in side_prompts)
    [tip] = await lite.handle(privately(BOB, "/tip"))
    assert "Just for you" in tip.text


async def test_leaving_and_forgetting_only_me(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 4)))
    [confirm] = await lite.handle(privately(ALICE, "/forget me"))
    [done, line] = await lite.handle(privately(ALICE, action=confirm.buttons[0].action))
    assert done.to == dm(ALICE) and "erased" in done.text
    assert line.to == HOME and line.text == "Alice left this space."
    [progress] = await lite.handle(said(BOB, "/progress"))
    assert "Alice" not in progress.text
    [bye, notice] = await lite.handle(said(BOB, "/unpair"))
    assert bye.to == dm(BOB) and notice.text == "Bob left this space." and notice.to == HOME
    [refused] = await lite.handle(said(BOB, "/remind 9pm"))
    assert "Only this space's two partners" in refused.text


async def test_two_private_chats_become_one_couple_space(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await lite.handle(privately(ALICE, "/start"))
    [invite] = await lite.handle(privately(ALICE, "/pair"))
    assert "Forward this message to your partner" in invite.text
    code = start_code(invite)
    [own] = await lite.handle(privately(ALICE, f"/start {code}"))
    assert "your own invitation" in own.text
    joined, told = await lite.handle(privately(BOB, f"/start {code}"))
    assert joined.to == dm(BOB) and told.to == dm(ALICE) and "Bob joined you" in told.text
    [again] = await lite.handle(privately(CAROL, f"/start {code}"))
    assert "already used" in again.text  # an invitation works once
    await lite.handle(privately(BOB, "/remind 20:00"))
    await lite.handle(privately(BOB, "/checkin 21:00"))
    clock.set("2026-11-21T20:00:00+00:00")
    await lite.dispatch_due()
    # No group: each private chat gets one message at the earlier of the two times, the step
    # (the same for both) above each partner's own check-in; the check-in's own time brings
    # nothing more.
    sent = {m.to: m for m in messenger.take()}
    assert set(sent) == {dm(ALICE), dm(BOB)}
    steps = [m.text.split("💬")[0] for m in sent.values()]
    assert "🌱 Today's step" in steps[0] and steps[0] == steps[1]
    assert await checkin_due(lite, clock, messenger) == {}
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 3)))
    replies = await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 4)))
    reveals = [r for r in replies if "both checked in" in r.text]
    assert {r.to for r in reveals} == {dm(ALICE), dm(BOB)}
    assert all("Alice 3/5 · Bob 4/5" in r.text for r in reveals)


async def test_the_scored_question_is_the_same_every_day(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    [listing] = await lite.handle(said(ALICE, "/question"))
    assert "✓ 1. How at ease did you feel with each other today?" in listing.text
    [bad] = await lite.handle(said(ALICE, "/question 99"))
    assert "/question 1" in bad.text
    [chosen] = await lite.handle(said(BOB, "/question 3"))
    question = chosen.text.split(": ", 1)[1]
    texts = []
    for day in range(2):
        clock.set(f"2026-11-2{1 + day}T21:00:00+00:00")
        await lite.dispatch_due()
        texts.append({m.to: m for m in messenger.take()}[dm(ALICE)].text)
    assert all(question in t for t in texts)
    assert texts[0].split("To reflect on")[1] != texts[1].split("To reflect on")[1]


async def test_help_is_short_and_more_lists_every_command_of_the_registry(lite: Tandem) -> None:
    from bot.registry import REGISTRY

    [short] = await lite.handle(said(ALICE, "/help"))
    assert len(short.text.splitlines()) <= 15  # one phone screen: the few that matter
    for first in ("/start", "/today", "/checkin", "/remind", "/promise", "/support"):
        assert first in short.text
    [more] = short.buttons
    assert more.label == "More"
    [help_] = await lite.handle(said(BOB, action=more.action))  # anyone may read it all
    for command in REGISTRY:
        assert f"/{command.name}" in help_.text, command.name
    assert lite.library.texts.help.strip()[:40] in help_.text  # the examples come with it


async def test_both_taps_at_the_same_moment_reveal_exactly_once(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger, monkeypatch: object
) -> None:
    """On PostgreSQL two transactions run at once: the row lock makes the second see the first."""
    import asyncio

    from bot.checkins import answers as checkins

    await couple(tandem)
    sent = await checkin_due(tandem, clock, messenger)
    # Both taps reach the "who is still missing?" question before either commits.
    arrived, both_here = 0, asyncio.Event()
    original = checkins.answer_of

    async def meet_then_answer(*args: object, **kwargs: object) -> object:
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            both_here.set()
        # A timeout means the lock held the other one back: that is the point.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both_here.wait(), 1.0)
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(checkins, "answer_of", meet_then_answer)  # type: ignore[attr-defined]
    replies = await asyncio.gather(
        tandem.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 4))),
        tandem.handle(privately(BOB, action=tap(sent[dm(BOB)], 2))),
    )
    reveals = [r for rs in replies for r in rs if "both checked in" in r.text]
    assert len(reveals) == 1 and "Alice 4/5 · Bob 2/5" in reveals[0].text


async def test_the_registry_says_who_may_and_the_core_holds_to_it(lite: Tandem) -> None:
    """Every command a partner must run refuses a stranger, with nothing changed."""
    from bot.command import Who
    from bot.registry import REGISTRY

    await lite.handle(said(ALICE, "/start"))
    await lite.handle(said(ALICE, "/remind 8pm"))
    for command in REGISTRY:
        if command.name in ("start", "pair"):
            continue  # joining is open to anyone while a partner's place is free
        args = {
            "timezone": "Berlin",
            "remind": "9pm",
            "checkin": "9pm",
            "topics": "gratitude",
            "reveal": "never",
            "question": "2",
            "together": "apart",
            "pause": "3 days",
        }
        typed = f"/{command.name} {args.get(command.name, '')}".strip()
        [reply, *_] = await lite.handle(said(CAROL, typed)) or [None]
        refused = reply is not None and "Only this space's two partners" in reply.text
        gated = command.who is Who.PARTNER or (
            command.who is Who.PARTNER_TO_CHANGE and command.name in args
        )
        assert refused == gated, (typed, reply)
    [schedule] = await lite.handle(said(ALICE, "/schedule"))
    assert (
        "20:00" in schedule.text and "UTC" in schedule.text and "Reveal: together" in schedule.text
    )


async def test_a_partner_in_a_private_chat_not_linked_yet_is_pointed_to_pair_not_start(
    lite: Tandem,
) -> None:
    await pair(lite, ALICE)
    await lite.handle(said(BOB, "/start"))  # a partner, in the group only
    [refused] = await lite.handle(privately(BOB, "/checkin"))
    assert "isn't linked to a couple yet" in refused.text and "send /pair there" in refused.text
    assert "Nothing was changed" in refused.text
    [shared] = await lite.handle(said(("u9", "Carol"), "/remind 9pm"))  # in the group, as ever
    assert shared.text.startswith("Only this space's two partners can do that.")
