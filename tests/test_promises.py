"""Promises as a couple makes and keeps them: making one, the follow-up on the right local day
(across DST, after a restart), each button, and nobody told that a partner's promise failed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot import actions
from bot.content import Library
from bot.delivery import DispatchReport
from bot.messages import Address, Outgoing
from bot.service import SORRY, Tandem
from bot.store import Delivery, Promise, promise_text
from bot.timeparse import latest_due
from tests.conftest import build, dialog, exported
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_two_voices import dm, pair, privately


async def couple(tandem: Tandem, *commands: str) -> None:
    """Alice and Bob in their group, each with a linked private chat; then Alice's commands."""
    await pair(tandem, ALICE)
    await pair(tandem, BOB)
    for command in commands:
        [reply] = await tandem.handle(said(ALICE, command))
        assert "✅" in reply.text, reply.text


async def promises_in(tandem: Tandem) -> list[Promise]:
    async with tandem.store.unit() as session:
        return list((await session.exec(select(Promise).order_by(Promise.id))).all())


async def asks(tandem: Tandem) -> list[Delivery]:
    async with tandem.store.unit() as session:
        found = await session.exec(
            select(Delivery).where(Delivery.kind == "promise").order_by(Delivery.id)
        )
        return list(found.all())


async def due(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger, iso: str
) -> list[Outgoing]:
    clock.set(iso)
    await tandem.dispatch_due()
    return [m for m in messenger.take() if "You said you'd" in m.text or "your promise" in m.text]


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, library: Library
) -> Iterator[tuple[asyncio.AbstractEventLoop, Tandem]]:
    """One couple's core for the fuzzer, kept across examples: Alice is a partner."""
    loop = asyncio.new_event_loop()
    path: Path = tmp_path_factory.mktemp("promises") / "fuzz.db"
    tandem = loop.run_until_complete(
        build(f"sqlite:///{path}", FixedClock(), FakeMessenger(), library)
    )
    loop.run_until_complete(tandem.handle(said(ALICE, "/start")))
    yield loop, tandem
    loop.run_until_complete(tandem.store.close())
    loop.close()


def button(message: Outgoing, label: str) -> str:
    [found] = [b.action for b in message.buttons if b.label == label]
    return found


async def test_a_promise_made_in_the_shared_space_is_shared_and_due_in_a_week(
    lite: Tandem,
) -> None:
    await couple(lite)
    await dialog(
        lite,
        [
            (
                "/promise text you when I'm running late this week",
                "🤝 Promise noted, Alice: “text you when I'm running late this week”, by Sat 28 "
                "Nov. I'll ask you privately how it went, Sat 28 Nov at 20:00.",
            ),
            ("/promise plan Saturday's walk by fri", "“plan Saturday's walk”, by Fri 27 Nov"),
            ("/promise stand by you", "“stand by you”, by Sat 28 Nov"),
            ("/promise call Mum by tomorrow", "by Sun 22 Nov"),
            ("/promise book the table by 12 dec", "by Sat 12 Dec"),
        ],
    )
    made = await promises_in(lite)
    assert all(p.shared for p in made) and len(made) == 5
    listing = await lite.handle(said(ALICE, "/promises"))
    assert "Your open promises, Alice" in listing[0].text
    assert [m.text.split(" · ")[0] for m in listing[1:]] == [  # the soonest first
        "“call Mum”",
        "“plan Saturday's walk”",
        "“text you when I'm running late this week”",
        "“stand by you”",
        "“book the table”",
    ]
    assert [b.label for b in listing[1].buttons] == ["Done", "Partly", "Not yet", "Let it go"]
    [none] = await lite.handle(said(BOB, "/promises"))
    assert "No open promises" in none.text  # each lists their own


@pytest.mark.parametrize(
    ("typed", "example"),
    [
        ("/promise", "/promise plan Saturday's walk by fri"),
        ("/promise   by fri", "Tell me what you'll do"),
        ("/promise call Mum by 31 feb", "by fri, by tomorrow"),
        ("/promise call Mum by next", "by fri, by tomorrow"),
        ("/promise call Mum by 2020-01-01", "has already been"),
        ("/promise call Mum by 2028-01-01", "more than a year away"),
        ("/promise plan a walk by yesterday", "“yesterday” has already been; a promise is for"),
        ("/promise plan a walk by last fri", "“last fri” has already been"),
        ("/promise call the bank in 400 days", "due by Sun 21 Nov 2027 at the latest. Try by fri"),
        ("/promise x by blursday", "I couldn't read “blursday” as a day. Try by fri"),
        ("/promise x by next blursday", "I couldn't read “next blursday” as a day"),
        ("/promise x by 31 feb", "I couldn't read “31 feb” as a day"),
        ("/promise " + "x" * 201, "up to 200 characters"),
    ],
)
async def test_bad_promises_get_an_example_and_change_nothing(
    lite: Tandem, typed: str, example: str
) -> None:
    await couple(lite)
    [reply] = await lite.handle(said(ALICE, typed))
    assert example in reply.text and reply.private
    assert await promises_in(lite) == []


async def test_a_by_that_is_not_a_day_stays_in_the_words_and_a_span_alone_is_the_day(
    lite: Tandem,
) -> None:
    await couple(lite)
    await dialog(
        lite,
        [
            ("/promise sit with you by the lake", "“sit with you by the lake”, by Sat 28 Nov"),
            ("/promise drop by your mum's", "“drop by your mum's”, by Sat 28 Nov"),
            ("/promise x by banana", "“x by banana”, by Sat 28 Nov"),  # words, like "by bike"
            ("/promise call the bank in 3 days", "“call the bank”, by Tue 24 Nov"),
            ("/promise drop by in a week", "“drop by”, by Sat 28 Nov"),
            ("/promise book the table by the 12th", "“book the table”, by Sat 12 Dec"),
            ("/promise call Mum twice in a week", "“call Mum twice in a week”, by Sat 28 Nov"),
        ],
    )
    assert len(await promises_in(lite)) == 7


async def test_only_partners_promise_and_ten_open_at_most(lite: Tandem) -> None:
    await couple(lite)
    [refused] = await lite.handle(said(("u9", "Eve"), "/promise be nice"))
    assert "Only this space's two partners" in refused.text
    for n in range(10):
        await lite.handle(said(ALICE, f"/promise small thing {n}"))
    [full] = await lite.handle(said(ALICE, "/promise one more"))
    assert "10 open promises already" in full.text
    assert len(await promises_in(lite)) == 10


async def test_a_promise_made_in_private_asks_whether_it_is_shared(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    await couple(lite)
    [asked] = await lite.handle(privately(ALICE, "/promise stop checking my phone at dinner"))
    assert asked.to == dm(ALICE) and asked.protect
    assert [b.label for b in asked.buttons] == ["Shared", "Just for me"]
    [mine] = await lite.handle(privately(ALICE, action=button(asked, "Just for me")))
    assert mine.to == dm(ALICE) and "Just for you" in mine.text
    # Bob sees nothing of it: not in the group, not in his /export.
    bob_file = exported(await lite.handle(said(BOB, "/export", whisper=True)))
    assert bob_file.attachment is not None and b"phone" not in bob_file.attachment.data
    [group_list] = await lite.handle(said(ALICE, "/promises"))
    assert "phone" not in group_list.text and "listed only in your private chat" in group_list.text
    alice_file = exported(await lite.handle(privately(ALICE, "/export")))
    assert alice_file.attachment is not None
    [row] = json.loads(alice_file.attachment.data)["promises"]
    assert row["text"] == "stop checking my phone at dinner" and row["shared"] is False

    [asked] = await lite.handle(privately(ALICE, "/promise plan Saturday's walk by fri"))
    shared, line = await lite.handle(privately(ALICE, action=button(asked, "Shared")))
    assert shared.to == dm(ALICE) and "Shared" in shared.text
    assert line.to == HOME and "Alice made a promise: “plan Saturday's walk”" in line.text
    bob_file = exported(await lite.handle(privately(BOB, "/export")))
    assert bob_file.attachment is not None
    assert [r["text"] for r in json.loads(bob_file.attachment.data)["promises"]] == [
        "plan Saturday's walk"
    ]
    [stays] = await lite.handle(privately(ALICE, action=button(asked, "Just for me")))
    assert "stays shared" in stays.text


async def test_the_follow_up_comes_on_the_due_day_at_the_checkin_time_to_the_promiser_only(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    lite = tandem  # on SQLite and PostgreSQL
    await couple(lite, "/timezone Berlin", "/remind 8am", "/checkin 21:30")
    await lite.handle(said(ALICE, "/promise plan Saturday's walk by fri"))
    assert await due(lite, clock, messenger, "2026-11-26T20:30:00+00:00") == []  # Thu 21:30
    assert await due(lite, clock, messenger, "2026-11-27T20:29:00+00:00") == []  # Fri 21:29
    [ask] = await due(lite, clock, messenger, "2026-11-27T20:30:05+00:00")
    assert ask.to == dm(ALICE) and ask.protect
    assert ask.text == "🤝 You said you'd: “plan Saturday's walk”, by Fri 27 Nov. Did it happen?"
    assert [b.label for b in ask.buttons] == ["Done", "Partly", "Not yet", "Let it go"]
    assert await due(lite, clock, messenger, "2026-11-27T22:59:00+00:00") == []  # once a day


@pytest.mark.parametrize(
    ("commands", "asked_at"),
    [
        (("/remind 8am",), "2026-11-28T08:00:00+00:00"),  # no check-in: the prompt's time
        ((), "2026-11-28T20:00:00+00:00"),  # neither: 20:00
    ],
)
async def test_without_a_checkin_time_the_prompt_time_or_eight_pm(
    lite: Tandem,
    clock: FixedClock,
    messenger: FakeMessenger,
    commands: tuple[str, ...],
    asked_at: str,
) -> None:
    await couple(lite, *commands)
    await lite.handle(said(ALICE, "/promise call Mum"))
    before = (clock.now().fromisoformat(asked_at) - timedelta(seconds=1)).isoformat()
    assert await due(lite, clock, messenger, before) == []
    [ask] = await due(lite, clock, messenger, asked_at)
    assert "“call Mum”" in ask.text


@pytest.mark.parametrize(
    ("made", "by", "before", "fires"),
    [
        # Spring forward: 02:30 does not exist on 29 March in Berlin; asked once, at 03:30 CEST.
        (
            "2026-03-25T12:00:00+00:00",
            "29 mar",
            "2026-03-29T00:59:00+00:00",
            "2026-03-29T01:30:00+00:00",
        ),
        # Fall back: 02:30 happens twice on 25 October; asked at the first, never at the second.
        (
            "2026-10-20T12:00:00+00:00",
            "25 oct",
            "2026-10-25T00:29:00+00:00",
            "2026-10-25T00:30:00+00:00",
        ),
    ],
)
async def test_the_follow_up_across_dst_is_asked_once(
    lite: Tandem,
    clock: FixedClock,
    messenger: FakeMessenger,
    made: str,
    by: str,
    before: str,
    fires: str,
) -> None:
    clock.set(made)
    await couple(lite, "/timezone Berlin", "/checkin 2:30")
    await lite.handle(said(ALICE, f"/promise plant the bulbs by {by}"))
    assert await due(lite, clock, messenger, before) == []
    [ask] = await due(lite, clock, messenger, fires)
    assert "plant the bulbs" in ask.text
    clock.advance(hours=1, minutes=30)  # past the second 02:30 of a fall-back night
    await lite.dispatch_due()
    assert [m for m in messenger.take() if "bulbs" in m.text] == []
    assert [a.status for a in await asks(lite)] == ["sent"]


async def test_after_a_restart_nothing_is_asked_twice(
    sqlite_url: str, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> None:
    first = await build(sqlite_url, clock, messenger, library)
    await couple(first, "/checkin 21:00")
    await first.handle(said(ALICE, "/promise call Mum by tomorrow"))
    await first.handle(said(BOB, "/promise fix the shelf by tomorrow"))
    clock.set("2026-11-22T21:00:00+00:00")
    # Both asks are claimed, then the process dies before either is handed to the platform.
    report = DispatchReport()
    claimed = await first.dispatcher._claim_promises(clock.now(), report)
    assert len(claimed) == 2
    await first.store.close()
    messenger.take()

    second = await build(sqlite_url, clock, messenger, library)
    assert await second.recover() == 0  # claimed, never handed to the platform: sent now
    for minutes in (0, 5, 120):
        clock.set("2026-11-22T21:00:00+00:00")
        clock.advance(minutes=minutes)
        await second.dispatch_due()
    asked = [m for m in messenger.take() if "You said you'd" in m.text]
    assert sorted(m.to.chat_id for m in asked) == ["dm-u1", "dm-u2"]
    assert [a.status for a in await asks(second)] == ["sent", "sent"]
    await second.store.close()

    third = await build(sqlite_url, clock, messenger, library)
    clock.set("2026-11-29T21:00:00+00:00")  # a week later it is asked once more, once
    await third.dispatch_due()
    await third.dispatch_due()
    again = [m for m in messenger.take() if "You said you'd" in m.text]
    assert sorted(m.to.chat_id for m in again) == ["dm-u1", "dm-u2"]
    await third.store.close()


async def test_done_on_a_shared_promise_is_celebrated_in_one_warm_line(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite, "/checkin 21:00")
    await lite.handle(said(ALICE, "/promise plan Saturday's walk by fri"))
    [ask] = await due(lite, clock, messenger, "2026-11-27T21:00:00+00:00")
    [refused] = await lite.handle(privately(BOB, action=button(ask, "Done")))
    assert "Only the one who made this promise" in refused.text
    mine, party = await lite.handle(privately(ALICE, action=button(ask, "Done")))
    assert mine.to == dm(ALICE) and "Kept" in mine.text
    assert party.to == HOME
    assert party.text == (
        "🎉 Alice kept a promise: “plan Saturday's walk”. Small promises, kept, are how trust "
        "grows back."
    )
    [again] = await lite.handle(privately(ALICE, action=button(ask, "Done")))
    assert "already settled" in again.text
    assert await due(lite, clock, messenger, "2026-12-04T21:00:00+00:00") == []


@pytest.mark.parametrize(
    ("label", "says", "status"),
    [
        ("Partly", "Partly is still a step", "partly"),
        ("Let it go", "Let go. I won't ask about it again.", "let_go"),
    ],
)
async def test_partly_and_let_it_go_are_said_to_the_promiser_alone(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, label: str, says: str, status: str
) -> None:
    await couple(lite, "/checkin 21:00")
    await lite.handle(said(ALICE, "/promise plan Saturday's walk by fri"))
    [ask] = await due(lite, clock, messenger, "2026-11-27T21:00:00+00:00")
    [reply] = await lite.handle(privately(ALICE, action=button(ask, label)))
    assert reply.to == dm(ALICE) and says in reply.text
    [promise] = await promises_in(lite)
    assert promise.outcome == status and promise.next_ask_at is None
    assert promise.status == "closed"  # plain: only that it is no longer asked about
    assert messenger.take() == []  # nothing to Bob, nothing to the group
    assert await due(lite, clock, messenger, "2026-12-04T21:00:00+00:00") == []


async def test_not_yet_moves_it_by_a_week_and_asks_again_then(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite, "/checkin 21:00")
    await lite.handle(said(ALICE, "/promise plan Saturday's walk by fri"))
    [ask] = await due(lite, clock, messenger, "2026-11-27T21:00:00+00:00")
    [reply] = await lite.handle(privately(ALICE, action=button(ask, "Not yet")))
    assert reply.to == dm(ALICE) and "moved to Fri 4 Dec" in reply.text
    assert messenger.take() == []
    assert await due(lite, clock, messenger, "2026-12-03T21:00:00+00:00") == []
    [again] = await due(lite, clock, messenger, "2026-12-04T21:00:00+00:00")
    assert "by Fri 4 Dec" in again.text


async def test_an_unanswered_follow_up_is_asked_once_more_a_week_later_then_rests(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite, "/checkin 21:00")
    await lite.handle(said(ALICE, "/promise plan Saturday's walk by fri"))
    assert len(await due(lite, clock, messenger, "2026-11-27T21:00:00+00:00")) == 1
    assert await due(lite, clock, messenger, "2026-11-28T21:00:00+00:00") == []
    assert len(await due(lite, clock, messenger, "2026-12-04T21:00:00+00:00")) == 1
    assert await due(lite, clock, messenger, "2026-12-11T21:00:00+00:00") == []
    listing = await lite.handle(privately(ALICE, "/promises"))
    assert "plan Saturday's walk" in listing[1].text  # still there, with its buttons


async def test_a_shared_promise_of_someone_without_a_private_chat_is_asked_in_the_group(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await lite.handle(said(ALICE, "/start"))
    await lite.handle(said(BOB, "/start"))
    await lite.handle(said(ALICE, "/promise plan Saturday's walk by fri"))
    [ask] = await due(lite, clock, messenger, "2026-11-27T20:00:00+00:00")
    assert ask.to == HOME and ask.text.startswith("🤝 Alice, a word about your promise.")
    [reply] = await lite.handle(said(ALICE, action=button(ask, "Not yet"), whisper=True))
    assert reply.private and "moved to" in reply.text


async def test_a_missed_follow_up_after_downtime_comes_the_next_day(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite, "/checkin 21:00")
    await lite.handle(said(ALICE, "/promise plan Saturday's walk by fri"))
    assert await due(lite, clock, messenger, "2026-11-28T06:00:00+00:00") == []  # 9 h late
    [ask] = await due(lite, clock, messenger, "2026-11-28T21:00:00+00:00")
    assert "plan Saturday's walk" in ask.text
    assert [a.status for a in await asks(lite)] == ["missed", "sent"]


async def test_forget_me_and_forget_erase_promises(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    lite = tandem  # on SQLite and PostgreSQL
    await couple(lite, "/checkin 21:00")
    await lite.handle(said(ALICE, "/promise plan Saturday's walk by fri"))
    await lite.handle(said(BOB, "/promise fix the shelf by fri"))
    await due(lite, clock, messenger, "2026-11-27T21:00:00+00:00")
    [confirm] = await lite.handle(said(BOB, "/forget me"))
    await lite.handle(said(BOB, action=confirm.buttons[0].action, whisper=True))
    assert [p.body for p in await promises_in(lite)] == ["plan Saturday's walk"]
    assert all(a.recipient != 2 for a in await asks(lite))
    [confirm] = await lite.handle(said(ALICE, "/forget"))
    await lite.handle(said(ALICE, action=confirm.buttons[0].action, whisper=True))
    assert await promises_in(lite) == [] and await asks(lite) == []


def test_promise_buttons_fit_telegram() -> None:
    from bot import actions

    for answer in ("done", "partly", "not_yet", "let_go"):
        action = actions.kept(10**17, answer)
        assert len(action.encode()) <= 64
        assert actions.parse(action) == actions.Kept(10**17, answer)
    assert actions.parse(actions.share_promise(7, True)) == actions.SharePromise(7, True)
    assert actions.parse("pr:" + "9" * 40 + ":d") is None


async def test_promises_reach_a_platform_address(lite: Tandem) -> None:
    # A promise made in a chat Tandem has never seen is refused kindly: no one is a partner yet.
    [reply] = await lite.handle(said(ALICE, "/promise be kind", to=Address("test", "elsewhere")))
    assert "Only this space's two partners" in reply.text


TRIED = ("yesterday", "last fri", "blursday", "in 400 days", "tomorow", "the 12th")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    what=st.text(max_size=40),
    day=st.one_of(
        st.text(max_size=20).map(lambda day: f"by {day}"),
        st.sampled_from(["fri", "12 dec", "31 feb", "next", *TRIED]).map(lambda day: f"by {day}"),
        st.integers(0, 1000).map(lambda n: f"in {n} days"),
    ),
)
def test_fuzz_any_promise_gets_one_friendly_reply(
    running: tuple[asyncio.AbstractEventLoop, Tandem], what: str, day: str
) -> None:
    loop, tandem = running
    replies = loop.run_until_complete(tandem.handle(said(ALICE, f"/promise {what} {day}")))
    assert len(replies) == 1 and replies[0].text and replies[0].text != SORRY
    # Whatever was kept is a promise within the rules: due today or later, within the horizon,
    # and never with a day it tried to say kept as its words.
    today = tandem.clock.now().date()  # the space is on UTC
    kept = loop.run_until_complete(promises_in(tandem))
    for promise in kept:
        assert 0 < len(promise.body) <= 200 and promise.made_at <= tandem.clock.now()
        assert today <= promise.due_date <= latest_due(today)
        assert not promise_text(promise).endswith(tuple(f"by {tried}" for tried in TRIED))
    loop.run_until_complete(let_go(tandem, kept))  # room for the next example's


async def let_go(tandem: Tandem, kept: list[Promise]) -> None:
    async with tandem.store.unit() as session:
        for promise in kept:
            await session.delete(await session.get(Promise, promise.id))


async def test_a_promise_by_today_made_after_the_ask_says_it_is_asked_tomorrow(
    lite: Tandem, clock: FixedClock
) -> None:
    """It said "On that day I'll ask you", then asked the next day."""
    await couple(lite, "/checkin 21:00")  # promises are asked about at the check-in
    clock.set("2026-11-21T22:00:00+00:00")
    [made] = await lite.handle(said(ALICE, "/promise call Mum by today"))
    assert "by Sat 21 Nov. I'll ask you privately how it went, tomorrow at 21:00." in made.text
    clock.set("2026-11-21T12:00:00+00:00")
    [early] = await lite.handle(said(ALICE, "/promise water the plants by today"))
    assert "I'll ask you privately how it went, today at 21:00." in early.text


async def test_a_private_promise_with_words_of_danger_gets_help_first_and_cannot_be_shared(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    await couple(lite)
    replies = await lite.handle(
        privately(ALICE, "/promise tell him no when he checks my phone, he hits me when I refuse")
    )
    help_first, noted = replies[0], replies[-1]
    assert "This promise stays just for you." in help_first.text  # the help, then the promise
    assert noted.text.startswith("🤝 Noted, just for you:") and not noted.buttons
    assert all(r.to == dm(ALICE) for r in replies)
    [promise] = await promises_in(lite)
    assert not promise.shared
    # A Shared tap anyway (an old client, a forged button): refused, and nothing is shown.
    assert promise.id is not None
    share = actions.share_promise(promise.id, True)
    [refused] = await lite.handle(privately(ALICE, action=share))
    assert "stays just for you" in refused.text
    [still] = await promises_in(lite)
    assert not still.shared and messenger.take() == []
    [bobs] = await lite.handle(said(BOB, "/promises"))
    assert "phone" not in bobs.text
