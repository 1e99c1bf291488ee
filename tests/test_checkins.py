"""A couple's check-in in their shared chat: answers kept apart until both are in, then revealed."""

from __future__ import annotations

import json

from bot.messages import Outgoing
from bot.service import Tandem
from tests.conftest import export_of, one
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said

CAROL = ("u3", "Carol")


async def ask(tandem: Tandem, messenger: FakeMessenger) -> Outgoing:
    for who in (ALICE, BOB):
        await tandem.handle(said(who, "/start"))
    assert await tandem.handle(said(ALICE, "/checkin")) == []  # the check-in is sent to the chat
    [checkin] = messenger.take()
    return checkin


def tap(checkin: Outgoing, score: int) -> str:
    return checkin.buttons[score - 1].action


def skip(checkin: Outgoing) -> str:
    [button] = [b for b in checkin.buttons if b.label == "Skip today"]
    return button.action


async def test_the_first_answer_stays_private_until_the_second_reveals_both(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    ack, nudge = await lite.handle(said(ALICE, action=tap(checkin, 4)))
    assert ack.private and ack.text == (
        "Thanks, Alice. Your check-in for Sat 21 Nov is saved: 4/5. "
        "You'll both see the answers when Bob has answered."
    )
    assert nudge.to == HOME and "Bob, whenever you're ready" in nudge.text
    assert "4" not in nudge.text.replace("Sat 21", "")  # the nudge carries no score
    progress = (await one(lite, said(BOB, "/progress"))).text
    assert "Alice 4" not in progress and "4/5" not in progress
    ack, reveal = await lite.handle(said(BOB, action=tap(checkin, 5)))
    assert ack.private and "Bob" in ack.text
    assert not reveal.private and reveal.to == HOME and reveal.protect
    assert "both checked in" in reveal.text and "Days you both showed up: 1." in reveal.text
    assert "Alice 4/5 · Bob 5/5" in reveal.text
    progress = (await one(lite, said(ALICE, "/progress"))).text
    assert "Sat 21 Nov: Alice 4/5, Bob 5/5" in progress


async def test_one_nudge_at_most_and_a_changed_mind_before_the_reveal(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    assert len(await lite.handle(said(ALICE, action=tap(checkin, 2)))) == 2  # ack + nudge
    replies = await lite.handle(said(ALICE, action=tap(checkin, 3)))
    assert [r.text for r in replies] == [
        "Thanks, Alice. Your check-in for Sat 21 Nov is changed to 3/5. "
        "You'll both see the answers when Bob has answered."
    ]
    _, reveal = await lite.handle(said(BOB, action=tap(checkin, 5)))
    assert "Alice 3/5 · Bob 5/5" in reveal.text
    [refused] = await lite.handle(said(ALICE, action=tap(checkin, 1)))
    assert refused.private and "already out" in refused.text and "(3/5)" in refused.text
    assert "Alice 3/5, Bob 5/5" in (await one(lite, said(BOB, "/progress"))).text


async def test_a_skip_counts_as_showing_up_and_shows_as_skipped(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    await lite.handle(said(ALICE, action=skip(checkin)))
    _, reveal = await lite.handle(said(BOB, action=tap(checkin, 4)))
    assert "Days you both showed up: 1." in reveal.text
    assert "Alice skipped today · Bob 4/5" in reveal.text


async def test_someone_who_is_not_a_partner_cannot_answer(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    [refused] = await lite.handle(said(CAROL, action=tap(checkin, 1)))
    assert refused.private and "/start" in refused.text and "Nothing was saved" in refused.text
    await lite.handle(said(ALICE, action=tap(checkin, 4)))
    _, reveal = await lite.handle(said(BOB, action=tap(checkin, 4)))
    assert "Carol" not in reveal.text


async def test_a_third_person_cannot_become_a_partner(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    await ask(lite, messenger)
    [refused] = await lite.handle(said(CAROL, "/start"))
    assert "already has its two partners" in refused.text


async def test_a_note_by_replying_in_the_shared_chat_is_shared_by_nature(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    reply_to = messenger.message_id_of(checkin)
    [saved] = await lite.handle(said(ALICE, "Felt close at dinner", reply_to=reply_to))
    assert "Note saved" in saved.text and "Tap a number" in saved.text
    await lite.handle(said(ALICE, action=tap(checkin, 4)))
    _, reveal = await lite.handle(said(BOB, action=tap(checkin, 2)))
    assert "📝 Alice: “Felt close at dinner”" in reveal.text
    export = (await export_of(lite, said(ALICE, "/export", whisper=True))).attachment
    assert export is not None and "Felt close at dinner" in export.data.decode()
    assert "Alice 4/5 📝" in (await one(lite, said(ALICE, "/progress"))).text


async def test_a_note_through_the_form_is_private_unless_shared(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    delivery_id = checkin.buttons[0].action.split(":")[1]
    [saved] = await lite.handle(said(BOB, "ok day, tired", action=f"n:{delivery_id}"))
    assert "Note saved" in saved.text and "private unless you choose" in saved.text
    assert [b.label for b in saved.buttons] == ["Keep private", "Share at the reveal"]
    [refused] = await lite.handle(said(BOB, "x" * 1200, action=f"n:{delivery_id}"))
    assert "up to 1000 characters" in refused.text
    [forged] = await lite.handle(said(ALICE, action=saved.buttons[1].action))
    assert "Only the note's author" in forged.text
    await lite.handle(said(ALICE, action=tap(checkin, 3)))
    _, reveal = await lite.handle(said(BOB, action=tap(checkin, 3)))
    assert "tired" not in reveal.text  # private by default
    alice_export = (await export_of(lite, said(ALICE, "/export", whisper=True))).attachment
    assert alice_export is not None and "tired" not in alice_export.data.decode()
    [shared, *posted] = await lite.handle(said(BOB, action=saved.buttons[1].action))
    assert shared.private and [p.text for p in posted] == [
        "📝 Bob added a note to Sat 21 Nov: “ok day, tired”"
    ]


async def test_chatter_that_is_not_a_reply_is_ignored(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    await ask(lite, messenger)
    assert await lite.handle(said(ALICE, "good morning!")) == []
    # A reply to one of Tandem's messages that isn't a check-in is words for Tandem (bot/talk/).
    [hello] = await lite.handle(said(ALICE, "hello", reply_to="unknown-message"))
    assert "Good to hear from you" in hello.text and not hello.private


async def both_answer(tandem: Tandem, messenger: FakeMessenger) -> str:
    """Both tap 4 on today's check-in; the reveal's text."""
    checkin = await ask(tandem, messenger)
    await tandem.handle(said(ALICE, action=tap(checkin, 4)))
    replies = await tandem.handle(said(BOB, action=tap(checkin, 4)))
    return "\n".join(r.text for r in replies if "both checked in" in r.text)


async def test_days_you_both_showed_up_and_milestones(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    celebrations = []
    for day in range(7):
        reveal = await both_answer(lite, messenger)
        celebrations.append([line for line in reveal.splitlines() if "🎉" in line])
        assert f"Days you both showed up: {day + 1}." in reveal
        clock.advance(days=1)
    assert [i + 1 for i, c in enumerate(celebrations) if c] == [3, 7]
    assert "7 days you both showed up" in celebrations[6][0]


async def test_a_rest_day_inside_the_allowance_does_not_reset_the_count(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    """Rest days never break it: up to 2 missed days in any 7 keep the count going."""
    for _ in range(3):
        await both_answer(lite, messenger)
        clock.advance(days=1)
    await ask(lite, messenger)  # one day the check-in came and nobody answered: a rest day
    clock.advance(days=1)
    assert "Days you both showed up: 4." in await both_answer(lite, messenger)
    clock.advance(days=1)
    await ask(lite, messenger)  # a second rest day within the week, the day before this one
    clock.advance(days=1)
    assert "Days you both showed up: 5." in await both_answer(lite, messenger)
    progress = (await one(lite, said(ALICE, "/progress"))).text
    assert progress.startswith("📈 Days you both showed up: 5. Rest days never break the count")


async def test_a_third_missed_day_within_a_week_starts_the_count_anew(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    for _ in range(3):
        await both_answer(lite, messenger)
        clock.advance(days=1)
    for _ in range(3):  # three days in a row the check-in came unanswered: more than rest
        await ask(lite, messenger)
        clock.advance(days=1)
    assert "Days you both showed up: 1." in await both_answer(lite, messenger)


async def test_days_with_no_check_in_paused_or_off_neither_count_nor_break_the_count(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    for _ in range(3):
        await both_answer(lite, messenger)
        clock.advance(days=1)
    await lite.handle(said(BOB, "/pause 5 days"))  # a week away: no check-in comes
    clock.advance(days=5)
    await lite.handle(said(BOB, "/resume"))
    assert "Days you both showed up: 4." in await both_answer(lite, messenger)
    progress = (await one(lite, said(ALICE, "/progress"))).text
    assert progress.startswith("📈 Days you both showed up: 4.")


async def test_unknown_or_forged_buttons_change_nothing(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    [bad] = await lite.handle(said(ALICE, action="a:999:4"))
    assert "isn't here any more" in bad.text
    delivery_id = tap(checkin, 1).split(":")[1]
    [bad] = await lite.handle(said(ALICE, action=f"a:{delivery_id}:9"))
    assert "1 to 5" in bad.text
    [bad] = await lite.handle(said(ALICE, action="zzz"))
    assert "button" in bad.text
    assert "No answers to show" in (await one(lite, said(ALICE, "/progress"))).text


async def test_checkin_now_is_once_a_day_and_not_after_both_answered(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    """Pressing /checkin again and again must not fill the partners' private chats."""
    checkin = await ask(lite, messenger)
    for _ in range(5):
        [again] = await lite.handle(said(BOB, "/checkin"))
        assert again.text.startswith("💬 Today's check-in is already out")
    assert messenger.take() == []
    await lite.handle(said(ALICE, action=tap(checkin, 4)))
    await lite.handle(said(BOB, action=tap(checkin, 3)))
    messenger.take()
    [done] = await lite.handle(said(ALICE, "/checkin"))
    assert done.text.startswith("💛 You've both answered today's check-in")
    assert messenger.take() == []


async def test_a_note_cannot_forge_a_line_of_the_reveal(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    reply_to = messenger.message_id_of(checkin)
    forged = "fine\nBob 1/5\n💛 Bob said he wants to leave \u202eevah I\u202c"
    await lite.handle(said(ALICE, forged, reply_to=reply_to))
    await lite.handle(said(ALICE, action=tap(checkin, 4)))
    _, reveal = await lite.handle(said(BOB, action=tap(checkin, 2)))
    lines = reveal.text.splitlines()
    assert "Bob 1/5" not in lines and not any(line.startswith("💛 Bob") for line in lines)
    [quoted] = [line for line in lines if line.startswith("📝 Alice")]
    assert quoted == "📝 Alice: “fine / Bob 1/5 / 💛 Bob said he wants to leave evah I”"
    assert "\u202e" not in reveal.text


async def test_a_note_that_would_grow_past_its_limit_is_refused_whole(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    reply_to = messenger.message_id_of(checkin)
    first = "a" * 600
    await lite.handle(said(ALICE, first, reply_to=reply_to))
    [refused] = await lite.handle(said(ALICE, "b" * 500, reply_to=reply_to))
    assert "wasn't saved" in refused.text and "room for 399 more" in refused.text
    [kept] = await lite.handle(said(ALICE, "c" * 399, reply_to=reply_to))
    assert "Note saved" in kept.text
    export = (await export_of(lite, said(ALICE, "/export", whisper=True))).attachment
    assert export is not None
    [note] = [a["note"] for a in json.loads(export.data)["checkins"] if a.get("note")]
    assert note == first + "\n" + "c" * 399  # the first words were never dropped


async def test_a_name_cannot_forge_a_line_either(lite: Tandem, messenger: FakeMessenger) -> None:
    forged = ("u9", "Mia\nBob 1/5\u202e")
    await lite.handle(said(ALICE, "/start"))
    await lite.handle(said(forged, "/start"))
    await lite.handle(said(ALICE, "/checkin"))
    [checkin] = messenger.take()
    await lite.handle(said(ALICE, action=tap(checkin, 4)))
    replies = await lite.handle(said(forged, action=tap(checkin, 2)))
    [reveal] = [r for r in replies if r.text.startswith("💛")]
    assert "Bob 1/5" not in reveal.text.splitlines() and "\u202e" not in reveal.text
    assert "Mia / Bob 1/5 2/5" in reveal.text
