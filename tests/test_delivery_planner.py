"""Who gets what, and when: the delivery planner decided over plain rows, with no database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any, NamedTuple

import pytest

from bot.content import TOPICS, Library
from bot.delivery.jobs import Job, Partner
from bot.delivery.outcomes import outcome
from bot.delivery.planner import (
    EVERY_DAY,
    Key,
    SchedulePlanner,
    Sibling,
    ask_times,
    backoff,
    checkin_targets,
    plan_promises,
    prompt_targets,
    side_day,
    sort_retries,
    weekly_targets,
)
from bot.delivery.rotation import side_rounds
from bot.messages import Address, SendResult, SendStatus

ZONE = "Europe/Berlin"  # UTC+1 in November
NOW = datetime.fromisoformat("2026-11-21T08:00:00+00:00")  # 09:00 in Berlin
DAY = date(2026, 11, 21)
GRACE = timedelta(hours=1)
CLAIM = {"claimed_by": "me", "lease_until": NOW + timedelta(seconds=90)}
GROUP = Address("telegram", "group")
ALICE = Partner(1, 10, "dm-alice", None, 0)
BOB = Partner(2, 10, "dm-bob", None, 0)
UNLINKED_BOB = Partner(2, 10, None, None, 0)


class Due(NamedTuple):
    """A due schedule as the claim reads it, with its space's columns."""

    id: int = 1
    space_id: int = 10
    kind: str = "checkin"
    local_time: str = "09:00"
    weekdays: str = EVERY_DAY
    next_due_at: datetime = NOW
    timezone: str = ZONE
    topics: str = ",".join(TOPICS)
    last_topic: str | None = None
    content_cycle: int = 0
    platform: str = "telegram"
    chat_id: str = "group"
    direct: bool = False
    question_id: str = "checkin-01"
    apart: bool = False


def plan(
    library: Library,
    rows: list[Due],
    partners: list[Partner],
    now: datetime = NOW,
    already: set[Key] | None = None,
    sides: dict[int, dict[str, Any]] | None = None,
    siblings: dict[str, Sibling] | None = None,
) -> Any:
    return SchedulePlanner(
        now,
        GRACE,
        CLAIM,
        library,
        {10: partners},
        sides or {},
        {},
        already or set(),
        {10: siblings or {}},
    ).plan(rows)


def rows_of(result: Any) -> list[tuple[int, int, str, str]]:
    """(schedule, recipient, kind, status) of each row planned."""
    return sorted(
        (r["schedule_id"], r["recipient"], r["kind"], r["status"]) for r in result.inserts
    )


def sent(rows: list[dict[str, Any]]) -> list[tuple[int, str, str | None]]:
    """(recipient, kind, variant) of each claimed row: 0 is the group."""
    return [(r["recipient"], r["kind"], r["variant"]) for r in rows if r["status"] == "claimed"]


# Where each kind goes.


def test_a_group_where_both_partners_linked_gets_nothing_and_each_a_private_checkin() -> None:
    targets = checkin_targets(GROUP, False, [ALICE, BOB])
    assert [(t.recipient, t.address.chat_id, t.variant) for t in targets] == [
        (1, "dm-alice", None),
        (2, "dm-bob", None),
    ]


def test_a_group_where_nobody_linked_a_private_chat_gets_the_full_checkin() -> None:
    targets = checkin_targets(GROUP, False, [Partner(1, 10, None, None, 0), UNLINKED_BOB])
    assert [(t.recipient, t.variant) for t in targets] == [(0, "full")]


def test_a_group_where_one_partner_linked_gets_the_mixed_checkin_and_they_a_private_one() -> None:
    targets = checkin_targets(GROUP, False, [ALICE, UNLINKED_BOB])
    assert [(t.recipient, t.address.chat_id, t.variant) for t in targets] == [
        (0, "group", "mixed"),
        (1, "dm-alice", None),
    ]


def test_without_a_group_only_linked_partners_get_the_checkin_in_private() -> None:
    targets = checkin_targets(GROUP, True, [ALICE, UNLINKED_BOB])
    assert [(t.recipient, t.address.chat_id) for t in targets] == [(1, "dm-alice")]


def test_the_shared_prompt_goes_to_the_group_once_or_else_to_each_private_chat() -> None:
    in_group = prompt_targets(GROUP, False, [ALICE, BOB])
    assert [(t.recipient, t.address.chat_id) for t in in_group] == [(0, "group")]
    apart = prompt_targets(GROUP, True, [ALICE, BOB])
    assert [(t.recipient, t.address.chat_id) for t in apart] == [(1, "dm-alice"), (2, "dm-bob")]


def test_the_look_back_goes_where_the_prompt_goes_and_nowhere_without_partners() -> None:
    assert [(t.recipient, t.kind) for t in weekly_targets(GROUP, False, [ALICE])] == [(0, "weekly")]
    assert weekly_targets(GROUP, False, []) == []


# Side prompts: every other day, in private.


def test_a_sided_partner_gets_a_side_prompt_every_other_day() -> None:
    days = [DAY + timedelta(days=n) for n in range(14)]
    theirs = [side_day(day, ALICE.id) for day in days]
    assert sum(theirs) == 7
    assert all(a != b for a, b in pairwise(theirs))


def test_two_sided_partners_get_their_side_prompts_on_alternate_days(library: Library) -> None:
    doubting = Partner(1, 10, "dm-alice", "doubting", 0)
    doubted = Partner(2, 10, "dm-bob", "doubted", 0)
    got = []
    for day in (NOW, NOW + timedelta(days=1)):
        rows = plan(
            library,
            [Due(kind="prompt", next_due_at=day, direct=True)],
            [doubting, doubted],
            now=day,
            sides=side_rounds([doubting, doubted], [], library),
        ).inserts
        # Both get the shared prompt in private (there is no group), one gets a side prompt.
        assert sorted(r["recipient"] for r in rows if r["kind"] == "prompt") == [1, 2]
        [side] = [r for r in rows if r["kind"] == "side"]
        partner = doubting if side["recipient"] == 1 else doubted
        assert library.by_id[side["content_id"]].audience == partner.side
        got.append(side["recipient"])
    assert sorted(got) == [1, 2]


def test_a_new_space_starts_on_the_first_week_and_its_rotation_is_written(
    library: Library,
) -> None:
    result = plan(library, [Due(kind="prompt")], [ALICE, BOB])
    first = library.first_week[0]
    assert sent(result.inserts) == [(0, "prompt", None)]
    assert result.inserts[0]["content_id"] == first
    assert [h["prompt_id"] for h in result.history] == [first]
    assert result.rotations == [{"spid": 10, "lt": library.by_id[first].topic, "cy": 0}]


# One message a chat a day: the step rides in the check-in going to the same chat.


def test_the_step_due_first_brings_the_check_in_forward_with_the_step_inside(
    library: Library,
) -> None:
    later = Sibling(2, NOW + timedelta(minutes=30), local_time="09:30")
    result = plan(
        library, [Due(kind="prompt", direct=True)], [ALICE, BOB], siblings={"checkin": later}
    )
    assert rows_of(result) == [
        (1, 1, "prompt", "carried"),
        (1, 2, "prompt", "carried"),
        (2, 1, "checkin", "claimed"),
        (2, 2, "checkin", "claimed"),
    ]
    assert {r["due_at"] for r in result.inserts} == {NOW}
    # Its day all written, the check-in moves on to tomorrow: /schedule says so.
    assert {"sid": 2, "next": NOW + timedelta(days=1, minutes=30)} in result.advances


def test_a_check_in_due_first_carries_the_step_due_later_that_day(library: Library) -> None:
    step = Sibling(1, NOW + timedelta(hours=11), local_time="20:00")
    result = plan(library, [Due(id=2, direct=True)], [ALICE, BOB], siblings={"prompt": step})
    assert rows_of(result) == [
        (1, 1, "prompt", "carried"),
        (1, 2, "prompt", "carried"),
        (2, 1, "checkin", "claimed"),
        (2, 2, "checkin", "claimed"),
    ]
    assert len({r["content_id"] for r in result.inserts if r["kind"] == "prompt"}) == 1


def test_a_step_on_another_day_or_held_by_another_instance_goes_on_its_own(
    library: Library,
) -> None:
    doubting = Partner(1, 10, "dm-alice", "doubting", 0)
    tomorrow = Sibling(2, NOW + timedelta(days=1), local_time="09:00")
    held = Sibling(2, NOW + timedelta(minutes=30), held=True)
    for checkin in (tomorrow, held):
        result = plan(
            library,
            [Due(kind="prompt", direct=True)],
            [doubting, BOB],
            sides=side_rounds([doubting], [], library),
            siblings={"checkin": checkin},
        )
        # Each its own message; her side's own prompt is left to a check-in, whoever plans it.
        assert rows_of(result) == [(1, 1, "prompt", "claimed"), (1, 2, "prompt", "claimed")]


def test_in_a_group_a_side_rides_in_the_private_check_in_below_it(library: Library) -> None:
    doubting = Partner(1, 10, "dm-alice", "doubting", 0)
    day = NOW if side_day(DAY, 1) else NOW + timedelta(days=1)
    result = plan(
        library,
        [Due(id=2, next_due_at=day)],
        [doubting, BOB],
        now=day,
        sides=side_rounds([doubting], [], library),
    )
    assert rows_of(result) == [
        (2, 1, "checkin", "claimed"),
        (2, 1, "side", "carried"),
        (2, 2, "checkin", "claimed"),
    ]


# Due, missed, already sent.


def test_a_checkin_due_now_is_claimed_for_every_target_and_the_schedule_moves_to_tomorrow(
    library: Library,
) -> None:
    result = plan(library, [Due()], [ALICE, BOB])
    assert sent(result.inserts) == [
        (1, "checkin", None),
        (2, "checkin", None),
    ]
    assert {r["claimed_by"] for r in result.inserts} == {"me"}
    assert {r["local_date"] for r in result.inserts} == {DAY}
    assert result.addresses[(1, 2, "checkin")] == Address("telegram", "dm-bob")
    assert result.advances == [{"sid": 1, "next": NOW + timedelta(days=1)}]
    assert result.missed == 0


def test_after_a_night_down_yesterdays_is_missed_and_todays_still_goes_within_the_grace(
    library: Library,
) -> None:
    later = NOW + timedelta(minutes=20)
    result = plan(library, [Due(next_due_at=NOW - timedelta(days=1))], [ALICE, BOB], now=later)
    [missed] = [r for r in result.inserts if r["status"] == "missed"]
    assert missed["local_date"] == DAY - timedelta(days=1)
    assert missed["reason"] == "came due while the bot was down"
    assert len(sent(result.inserts)) == 2
    assert {r["due_at"] for r in result.inserts if r["status"] == "claimed"} == {NOW}
    assert result.missed == 1


def test_past_the_grace_nothing_is_sent_late(library: Library) -> None:
    result = plan(library, [Due()], [ALICE, BOB], now=NOW + GRACE + timedelta(minutes=1))
    assert sent(result.inserts) == []
    assert [r["status"] for r in result.inserts] == ["missed"]
    assert result.advances == [{"sid": 1, "next": NOW + timedelta(days=1)}]


def test_what_was_sent_today_already_is_not_claimed_again(library: Library) -> None:
    already = {(1, DAY, 0, "checkin"), (1, DAY, 1, "checkin")}
    result = plan(library, [Due()], [ALICE, BOB], already=already)
    assert sent(result.inserts) == [(2, "checkin", None)]


# Promise follow-ups.


class Ask(NamedTuple):
    """A promise whose follow-up is due, as the claim reads it."""

    id: int = 7
    space_id: int = 10
    member_id: int = 1
    due_date: date = DAY
    next_ask_at: datetime = NOW
    asks: int = 0
    shared: bool = False
    timezone: str = ZONE
    platform: str = "telegram"
    chat_id: str = "group"
    direct: bool = False
    private_chat: str | None = "dm-alice"


def then(due: date, asks: int, at: str, zone: str) -> datetime:
    return NOW + timedelta(days=asks)


def ask(row: Ask, already: set[tuple[int, date]] | None = None, now: datetime = NOW) -> Any:
    return plan_promises([row], now, GRACE, CLAIM, {10: "09:00"}, already or set(), then)


def test_a_follow_up_asks_the_promiser_in_private_and_counts_the_ask() -> None:
    result = ask(Ask())
    [row] = result.inserts
    assert (row["recipient"], row["status"], row["claimed_by"]) == (1, "claimed", "me")
    assert result.addresses == {7: Address("telegram", "dm-alice")}
    assert result.advances == [{"pid": 7, "next": NOW + timedelta(days=1), "asks": 1}]


def test_a_shared_promise_of_someone_unlinked_is_asked_in_the_group() -> None:
    result = ask(Ask(shared=True, private_chat=None))
    assert [r["recipient"] for r in result.inserts] == [0]
    assert result.addresses == {7: GROUP}


def test_a_private_promise_with_nowhere_private_to_ask_waits_in_the_list() -> None:
    result = ask(Ask(private_chat=None))
    assert result.inserts == []
    assert result.advances == [{"pid": 7, "next": None, "asks": 0}]


def test_a_promise_is_asked_about_once_a_day_at_most() -> None:
    result = ask(Ask(), already={(7, DAY)})
    assert result.inserts == []
    assert result.advances == [{"pid": 7, "next": NOW + timedelta(days=1), "asks": 0}]


def test_a_follow_up_missed_while_down_is_asked_today_within_the_grace_else_tomorrow() -> None:
    yesterday = Ask(next_ask_at=NOW - timedelta(days=1))
    soon = ask(yesterday, now=NOW + timedelta(minutes=20))
    assert [(r["status"], r["local_date"]) for r in soon.inserts] == [
        ("missed", DAY - timedelta(days=1)),
        ("claimed", DAY),
    ]
    late = ask(yesterday, now=NOW + GRACE + timedelta(minutes=1))
    assert [r["status"] for r in late.inserts] == ["missed"]
    assert late.advances == [{"pid": 7, "next": NOW + timedelta(days=1), "asks": 0}]
    assert late.missed == 1
    # Back up half an hour before today's time: today's ask waits for it, never comes early.
    early = ask(yesterday, now=NOW - timedelta(minutes=30))
    assert [r["status"] for r in early.inserts] == ["missed"]
    assert early.advances == [{"pid": 7, "next": NOW, "asks": 0}]


def test_a_follow_up_comes_at_the_checkin_time_else_the_prompt_time() -> None:
    assert ask_times([(1, "prompt", "08:00"), (1, "checkin", "21:00")]) == {1: "21:00"}
    assert ask_times([(1, "checkin", "21:00"), (1, "prompt", "08:00")]) == {1: "21:00"}
    assert ask_times([(2, "prompt", "08:00")]) == {2: "08:00"}


# Retries and their backoff.


class Retry(NamedTuple):
    id: int
    due_at: datetime
    recipient: int = 0
    private_chat: str | None = None


def test_a_retry_past_the_grace_is_given_up_and_one_to_an_unlinked_chat_fails() -> None:
    fresh, stale = Retry(1, NOW), Retry(2, NOW - GRACE - timedelta(seconds=1))
    unlinked, linked = Retry(3, NOW, recipient=5), Retry(4, NOW, recipient=6, private_chat="dm")
    given_up, failed, send = sort_retries([fresh, stale, unlinked, linked], NOW, GRACE)
    assert (given_up, failed, [r.id for r in send]) == ([2], [3], [1, 4])


def test_backoff_doubles_from_30_seconds_and_stops_at_10_minutes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.delivery.planner.random.uniform", lambda low, high: 1.0)
    waits = [backoff(n).total_seconds() for n in range(1, 9)]
    assert waits == [30, 60, 120, 240, 480, 600, 600, 600]


def test_backoff_jitters_within_a_fifth_so_retries_do_not_arrive_in_step() -> None:
    waits = {backoff(3).total_seconds() for _ in range(50)}
    assert all(96 <= w <= 144 for w in waits)
    assert len(waits) > 1


def test_a_platform_asking_to_wait_longer_than_the_backoff_is_obeyed() -> None:
    job = Job(1, 10, "prompt", DAY, "p", GROUP)
    row = outcome(job, SendResult(SendStatus.RETRY, retry_after=3600), NOW)
    assert (row["status"], row["attempts"]) == ("retry", 1)
    assert row["next_attempt_at"] == NOW + timedelta(hours=1)
    quick = outcome(job, SendResult(SendStatus.RETRY, retry_after=1), NOW)
    assert NOW + timedelta(seconds=24) <= quick["next_attempt_at"] <= NOW + timedelta(seconds=36)
