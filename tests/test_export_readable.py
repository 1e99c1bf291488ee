"""/export as a person reads it (issue 22): a file to read (answers by day, notes, promises,
today's question, in the chat's local time) and a clean JSON, neither with the bot's own fields,
and each holding only what /privacy says: your own things, what was revealed, and your partner's
shared promises."""

from __future__ import annotations

import json
import re

from bot.service import Tandem
from bot.yourdata.export import FIELDS
from tests.conftest import exported
from tests.fakes import ALICE, BOB, FakeMessenger, FixedClock, said
from tests.test_daily_question import ALICE_WORDS, BOB_WORDS, answer
from tests.test_promises import button
from tests.test_two_voices import checkin_due, couple, dm, privately, tap

# Columns that are the bot's own work: none may reach a person's export, under any name.
INTERNAL = (
    "claimed_by",
    "lease_until",
    "parts_sent",
    "attempts",
    "next_attempt_at",
    "message_ref",
    "delivery_id",
    "space_id",
    "member_id",
    "user_id",
    "chat_id",
    "private_chat",
    "side_cycle",
    "content_cycle",
    "last_topic",
    "next_ask_at",
    "carried_to",
    "asks",
    "cycle",
    "share_note",
    "took_part",
    "held",
    "question_id",
    "deactivated_at",
)


async def a_week_of_theirs(lite: Tandem, clock: FixedClock, messenger: FakeMessenger) -> None:
    """A check-in with notes (Alice's shared, Bob's private), today's question answered by
    both, and a shared and a private promise each."""
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    for who, words in ((ALICE, "felt close at dinner"), (BOB, "worried about money")):
        [saved] = await lite.handle(
            privately(who, words, reply_to=messenger.message_id_of(sent[dm(who)]))
        )
        if who == ALICE:
            await lite.handle(privately(ALICE, action=button(saved, "Share at the reveal")))
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 4)))
    await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 3)))
    await answer(lite, ALICE, ALICE_WORDS)
    await answer(lite, BOB, BOB_WORDS)
    await lite.handle(said(ALICE, "/promise plan Saturday's walk by fri"))
    await lite.handle(said(BOB, "/promise fix the shelf by fri"))
    for who, words in ((ALICE, "call my sister"), (BOB, "run twice this week")):
        [asked] = await lite.handle(privately(who, f"/promise {words}"))
        await lite.handle(privately(who, action=button(asked, "Just for me")))
    await lite.handle(said(ALICE, "/timezone Berlin"))
    messenger.take()


async def test_export_gives_a_file_to_read_by_day_in_local_time_and_a_clean_json(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await a_week_of_theirs(lite, clock, messenger)
    replies = await lite.handle(privately(ALICE, "/export"))
    readable, clean = exported(replies, ".txt"), exported(replies, ".json")
    assert readable.to == clean.to == dm(ALICE) and readable.protect and clean.protect
    assert readable.attachment is not None and clean.attachment is not None
    assert readable.attachment.mime == "text/plain"
    text = readable.attachment.data.decode()
    assert "Exported Sat 21 Nov 2026 at 22:00; times are Europe/Berlin time." in text
    assert "Who: Alice (you), Bob" in text and "Check-in: 21:00 every day" in text
    day = text[text.index("\nSat 21 Nov 2026\n") :]
    assert "  Alice: 4/5 · note: “felt close at dinner”" in day
    assert "  Bob: 3/5\n" in day  # his note was his own
    assert "  Alice, today's question" in day and ALICE_WORDS in day and BOB_WORDS in day
    promises = text[text.index("\nPromises\n") :]
    assert "Alice: “plan Saturday's walk”, by Fri 27 Nov 2026 · shared · open" in promises
    assert "Alice: “call my sister”, by Sat 28 Nov 2026 · just for you · open" in promises
    assert "Bob: “fix the shelf”, by Fri 27 Nov 2026 · shared · open" in promises
    for secret in ("worried about money", "run twice this week"):
        assert secret not in text and secret not in clean.attachment.data.decode()

    data = json.loads(clean.attachment.data)
    assert [c["score"] for c in data["checkins"]] == [4, 3]
    assert [c.get("note") for c in data["checkins"]] == ["felt close at dinner", None]
    assert {p["text"] for p in data["promises"]} == {
        "plan Saturday's walk",
        "call my sister",
        "fix the shelf",
    }
    assert [q["text"] for q in data["question_answers"]] == [ALICE_WORDS, BOB_WORDS]


async def test_neither_file_holds_a_field_of_the_bots_own_work(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await a_week_of_theirs(lite, clock, messenger)
    for who in (ALICE, BOB):
        replies = await lite.handle(privately(who, "/export"))
        for kind in (".txt", ".json"):
            sent = exported(replies, kind)
            assert sent.attachment is not None
            body = sent.attachment.data.decode()
            found = [f for f in INTERNAL if re.search(rf"\b{f}\b", body)]
            assert found == [], (kind, found)
        clean = exported(replies).attachment
        assert clean is not None
        data = json.loads(clean.data)
        assert set(data) == {*FIELDS, "exported_at"}
        assert set(data["space"]) <= set(FIELDS["space"])
        for part, allowed in FIELDS.items():
            if part != "space":
                for row in data[part]:
                    assert set(row) <= set(allowed), (part, set(row) - set(allowed))


async def test_the_partner_sees_what_was_revealed_and_shared_promises_only(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await a_week_of_theirs(lite, clock, messenger)
    replies = await lite.handle(privately(BOB, "/export"))
    text = exported(replies, ".txt").attachment.data.decode()  # type: ignore[union-attr]
    assert "Who: Alice, Bob (you)" in text
    assert "Alice: 4/5 · note: “felt close at dinner”" in text  # shared at the reveal
    assert "Bob: 3/5 · note: “worried about money”" in text  # his own
    assert "plan Saturday's walk" in text and "call my sister" not in text
    assert "run twice this week" in text
