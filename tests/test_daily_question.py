"""Today's question, answered in words (issue 21), as a couple lives it through the core: the
same question in both private check-ins, words typed after "Answer", nothing of one answer
reaching the other before both answered, and the reveal under each /reveal rule."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest
from sqlalchemy import text as sql

from bot import actions
from bot.content import Library
from bot.messages import Address, Outgoing
from bot.service import Tandem
from tests.conftest import console_couple, exported
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_two_voices import checkin_due, couple, dm, private_couple, privately

ALICE_WORDS = "The walk by the river on Sunday, when you laughed at the ducks."
BOB_WORDS = "Your message at lunch. It made the afternoon lighter."


def button(message: Outgoing, label: str) -> str:
    [found] = [b.action for b in message.buttons if b.label == label]
    return found


async def answer(tandem: Tandem, who: tuple[str, str], words: str) -> list[Outgoing]:
    """ "Answer" tapped in the private chat, then the words sent as a reply to what it asked."""
    [prompt] = await tandem.handle(privately(who, action=_answer_action(tandem)))
    assert prompt.asks and prompt.to == dm(who) and "Reply to this message" in prompt.text
    return await tandem.handle(privately(who, words, reply_to="asked-1"))


def _answer_action(tandem: Tandem) -> str:
    today = tandem.clock.now().date()
    return actions.today(today, "answer")


def seen_by(bob_sees: list[Outgoing], who: tuple[str, str]) -> str:
    """Everything that reached a chat the other partner reads (theirs, or the group)."""
    return "\n".join(m.text for m in bob_sees if m.to in (dm(who), HOME))


async def evening(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> dict[Address, Outgoing]:
    await couple(tandem)
    return await checkin_due(tandem, clock, messenger)


async def test_both_get_the_same_question_in_their_one_check_in_message(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    got = await evening(tandem, clock, messenger)
    alice, bob = got[dm(ALICE)], got[dm(BOB)]
    assert "❓ Today's question:" in alice.text and alice.protect
    line = next(ln for ln in alice.text.splitlines() if ln.startswith("❓"))
    assert line in bob.text
    # The check-in's score buttons stay first: a tap on 3 is still a 3.
    assert alice.buttons[2].label == "3" and button(alice, "✍️ Answer")
    assert HOME not in got or "❓" not in got[HOME].text


@pytest.mark.parametrize("rule", ["together", "instant"])
async def test_words_stay_private_until_both_answered_then_both_are_shown(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, rule: str
) -> None:
    await evening(lite, clock, messenger)
    if rule != "together":
        await lite.handle(said(ALICE, f"/reveal {rule}"))
    out = await answer(lite, ALICE, "Something else first.")
    assert [m.to for m in out] == [dm(ALICE)] and "saved" in out[0].text
    assert "change it: tap ✍️ Answer again" in out[0].text  # how, not only that she can
    [shown_again] = await lite.handle(privately(ALICE, "/today"))
    assert "You can change it until you've both answered: tap ✍️ Answer." in shown_again.text
    out = await answer(lite, ALICE, ALICE_WORDS)  # changed before the reveal, as it said
    assert "changed" in out[0].text and all(m.to == dm(ALICE) for m in out)
    assert not messenger.take()  # nothing was sent anywhere else either
    revealed = await answer(lite, BOB, BOB_WORDS)
    assert [m.to for m in revealed] == [dm(BOB), HOME]
    shown = revealed[1]
    assert shown.protect
    assert f"Alice: “{ALICE_WORDS}”" in shown.text and f"Bob: “{BOB_WORDS}”" in shown.text
    assert "Something else first" not in shown.text
    assert [b.label for b in shown.buttons] == ["❤️ Thank you", "💬 Let's talk about this"]
    [late] = await lite.handle(privately(ALICE, action=_answer_action(lite)))
    assert "already out" in late.text and late.private and not late.asks


async def test_with_never_each_answer_stays_with_its_author(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await evening(lite, clock, messenger)
    await lite.handle(said(ALICE, "/reveal never"))
    first = await answer(lite, ALICE, ALICE_WORDS)
    assert "stays with you" in first[0].text
    done = await answer(lite, BOB, BOB_WORDS)
    everything = "\n".join(m.text for m in [*first, *done, *messenger.take()] if m.to != dm(ALICE))
    assert ALICE_WORDS not in everything and "river" not in everything
    [note] = [m for m in done if m.to == HOME]
    assert "stay with each of you" in note.text and BOB_WORDS not in note.text
    # Each still reads their own in /answers.
    [mine] = await lite.handle(privately(ALICE, "/answers"))
    assert ALICE_WORDS in mine.text and BOB_WORDS not in mine.text


async def test_without_a_group_a_pass_counts_and_the_reveal_goes_to_both_private_chats(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await private_couple(lite)
    await answer(lite, ALICE, ALICE_WORDS)
    first = await answer(lite, ALICE, "Changed my mind.")
    assert all(m.to == dm(ALICE) for m in first) and not messenger.take()
    out = await lite.handle(privately(BOB, action=actions.today(clock.now().date(), "pass")))
    assert sorted(m.to.chat_id for m in out) == ["dm-u1", "dm-u2"]
    assert all("Bob passed on this one." in m.text and "Changed my mind" in m.text for m in out)
    assert all(m.protect for m in out)
    [again] = await lite.handle(privately(BOB, action=actions.today(clock.now().date(), "pass")))
    assert "already out" in again.text


async def test_reactions_thank_and_suggest_a_talk(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await evening(lite, clock, messenger)
    await answer(lite, ALICE, ALICE_WORDS)
    [shown] = [m for m in await answer(lite, BOB, BOB_WORDS) if m.to == HOME]
    thanks = await lite.handle(said(BOB, action=button(shown, "❤️ Thank you")))
    [to_alice] = [m for m in thanks if m.to == dm(ALICE)]
    assert "Bob says thank you" in to_alice.text
    talk = await lite.handle(said(ALICE, action=button(shown, "💬 Let's talk about this")))
    [both] = [m for m in talk if m.to == HOME]
    assert "would like to talk" in both.text and "nobody is to blame" in both.text
    again = await lite.handle(said(ALICE, action=button(shown, "💬 Let's talk about this")))
    assert all(m.private for m in again)


async def test_one_swap_a_day_and_an_answered_question_never_comes_back(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await evening(lite, clock, messenger)
    [first] = await lite.handle(privately(ALICE, "/today"))
    swap = button(first, "Another question")
    swapped = await lite.handle(privately(ALICE, action=swap))
    assert any("asked for another question" in m.text and m.to == HOME for m in swapped)
    again = await lite.handle(privately(BOB, action=swap))
    assert "one swap" in again[0].text
    [now] = await lite.handle(privately(BOB, "/today"))
    question = now.text.splitlines()[0]
    assert question != first.text.splitlines()[0]
    await answer(lite, ALICE, ALICE_WORDS)
    await answer(lite, BOB, BOB_WORDS)
    asked = {question}
    for _ in range(4):  # the days after: each a new question, none of them asked before
        clock.advance(days=1)
        [later] = await lite.handle(privately(ALICE, "/today"))
        line = later.text.splitlines()[0]
        assert line not in asked
        asked.add(line)


async def test_bad_words_change_nothing(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await evening(lite, clock, messenger)
    [refused] = await answer(lite, ALICE, "x" * 1001)
    assert "up to 1000 characters" in refused.text and "1001" in refused.text
    [empty] = await lite.handle(privately(ALICE, "   ", reply_to="asked-1"))
    assert "empty" in empty.text
    # In the shared chat, words are never asked for where the partner could read them.
    [there] = await lite.handle(said(ALICE, action=_answer_action(lite)))
    assert "private chat" in there.text and not there.asks
    [yesterday] = await lite.handle(
        privately(ALICE, action=actions.today(clock.now().date().replace(day=20), "answer"))
    )
    assert "Today's is waiting" in yesterday.text
    async with lite.store.read() as session:
        rows = (await session.exec(sql("SELECT text FROM questionanswer"))).all()  # type: ignore[call-overload]
    assert all(r[0] is None for r in rows)


async def test_words_are_sealed_at_rest_and_exported_and_forgotten(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await evening(lite, clock, messenger)
    await answer(lite, ALICE, ALICE_WORDS)
    async with lite.store.read() as session:
        [raw] = (await session.exec(sql("SELECT text FROM questionanswer"))).all()  # type: ignore[call-overload]
    assert "river" not in raw[0]
    bob_export = exported(await lite.handle(privately(BOB, "/export")))
    assert bob_export.attachment is not None
    assert ALICE_WORDS not in bob_export.attachment.data.decode()
    await answer(lite, BOB, BOB_WORDS)
    bob_export = exported(await lite.handle(privately(BOB, "/export")))
    assert bob_export.attachment is not None
    data = json.loads(bob_export.attachment.data)
    texts = [r.get("text") for r in data["question_answers"]]
    assert ALICE_WORDS in texts and BOB_WORDS in texts
    [ask] = await lite.handle(privately(ALICE, "/forget me"))
    await lite.handle(privately(ALICE, action=ask.buttons[0].action))
    async with lite.store.read() as session:
        left = (await session.exec(sql("SELECT count(*) FROM questionanswer"))).one()  # type: ignore[call-overload]
    assert left[0] == 1


async def test_crisis_words_get_help_first_and_stay_with_their_author(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await evening(lite, clock, messenger)
    out = await answer(lite, ALICE, "Honestly I want to kill myself some days.")
    assert all(m.to == dm(ALICE) for m in out) and len(out) >= 2
    [shown] = [m for m in await answer(lite, BOB, BOB_WORDS) if m.to == HOME]
    assert "kill" not in shown.text and "Alice kept their answer private" in shown.text


async def test_on_the_console_reply_answers_the_newest_message_asking_for_words(
    sqlite_url: str, clock: FixedClock, library: Library, tmp_path: Path
) -> None:
    console, out, tandem = await console_couple(sqlite_url, clock, library, tmp_path)
    for line in ["/as Alice", "/today", "1", "/reply The river walk."]:
        await console.feed(line)
    before = out.getvalue()
    assert "✍️ Your answer is saved. “The river walk.”" in before
    # Alice's words were printed only in her own private chat.
    river = [block for block in before.split("\n\n") if "river" in block]
    assert river and all("Alice's private chat]" in block.split("\n")[0] for block in river)
    for line in ["/as Bob", "/today", "1", "/reply Your laugh."]:
        await console.feed(line)
    [reveal] = [b for b in out.getvalue().split("\n\n") if "answered by you both" in b]
    assert "shared chat]" in reveal
    assert "Alice: “The river walk.”" in reveal and "Bob: “Your laugh.”" in reveal
    await tandem.store.close()


async def test_an_answers_words_are_erased_after_the_note_period(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await evening(lite, clock, messenger)
    await answer(lite, ALICE, ALICE_WORDS)
    clock.advance(days=364)
    assert (await lite.housekeeper.run()) is not None
    [mine] = await lite.handle(privately(ALICE, "/answers"))
    assert ALICE_WORDS in mine.text  # within the year: kept
    clock.advance(days=2)
    swept = await lite.housekeeper.run()
    assert swept is not None and swept.notes == 1
    [mine] = await lite.handle(privately(ALICE, "/answers"))
    assert ALICE_WORDS not in mine.text


async def test_answers_pages_newest_first_and_only_in_private(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await evening(lite, clock, messenger)
    for n in range(6):
        await answer(lite, ALICE, f"Answer number {n}.")
        await lite.handle(privately(BOB, action=actions.today(clock.now().date(), "pass")))
        clock.advance(days=1)
    [first] = await lite.handle(privately(ALICE, "/answers"))
    assert "page 1 of 2" in first.text and first.protect
    assert first.text.index("number 5") < first.text.index("number 1")
    assert "number 0" not in first.text and "Bob passed on this one." in first.text
    [older] = [b.action for b in first.buttons if b.label == "Older ›"]
    [second] = await lite.handle(privately(ALICE, action=older))
    assert "page 2 of 2" in second.text and "number 0" in second.text
    [there] = await lite.handle(said(ALICE, "/answers"))
    assert there.private and "private chat" in there.text and "number" not in there.text
    [wrong] = await lite.handle(privately(ALICE, "/answers two"))
    assert "/answers 2" in wrong.text


async def test_both_answering_at_the_same_moment_reveal_once(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.questions import words

    await evening(tandem, clock, messenger)
    for who in (ALICE, BOB):
        [asked] = await tandem.handle(privately(who, action=_answer_action(tandem)))
        assert asked.asks
    # Both replies reach "who has answered?" before either commits.
    arrived, both_here = 0, asyncio.Event()
    original = words.all_took_part

    async def meet_then_look(*args: object, **kwargs: object) -> object:
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            both_here.set()
        # A timeout means one was held back (SQLite's one writer): that is the point.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both_here.wait(), 1.0)
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(words, "all_took_part", meet_then_look)
    both = await asyncio.gather(
        tandem.handle(privately(ALICE, ALICE_WORDS, reply_to="asked-1")),
        tandem.handle(privately(BOB, BOB_WORDS, reply_to="asked-2")),
    )
    reveals = [m for replies in both for m in replies if m.to == HOME]
    assert len(reveals) == 1
    assert ALICE_WORDS in reveals[0].text and BOB_WORDS in reveals[0].text
