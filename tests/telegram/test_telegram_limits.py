"""Sending stays under Telegram's limits, and one busy chat never holds up the others."""

from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path

import pytest

from adapters.telegram_limits import FloodControl, Limits
from bot.content import Library
from bot.messages import Address, Outgoing, SendStatus
from tests.fakes import FixedClock
from tests.telegram.fake_api import ALICE, DM, GROUP, Call, FakeBotApi, FloodRules
from tests.telegram.harness import Running, start_app, until

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def most_in_any_window(calls: list[Call], seconds: float) -> int:
    times = sorted(c.at for c in calls)
    return max(sum(1 for t in times[i:] if t - start < seconds) for i, start in enumerate(times))


async def running(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock, limits: Limits
) -> Running:
    return await start_app(api, db, library, clock, limits=limits)


async def test_a_burst_to_many_chats_stays_under_30_messages_a_second(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    bot = await running(api, db, library, clock, Limits())  # Telegram's real limits
    api.open_private(*range(1000, 1045))
    try:
        chats = [Address("telegram", str(1000 + n)) for n in range(45)]
        results = await asyncio.gather(*(bot.adapter.send(Outgoing(c, "hi")) for c in chats))
    finally:
        await bot.stop()

    assert all(r.status is SendStatus.DELIVERED for r in results)
    assert most_in_any_window(api.sent(), 1.0) <= 30


async def test_one_chat_is_paced_and_keeps_its_order(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    # Telegram's "about one a second" per chat, with the second shortened to keep the test quick.
    limits = Limits(overall=None, per_group=None, per_chat=(1, 0.2))
    bot = await running(api, db, library, clock, limits)
    api.open_private(DM.id)
    try:
        to = Address("telegram", str(DM.id))
        await asyncio.gather(*(bot.adapter.send(Outgoing(to, f"part {n}")) for n in range(4)))
    finally:
        await bot.stop()

    sent = api.sent(DM.id)
    assert [c.text for c in sent] == ["part 0", "part 1", "part 2", "part 3"]
    assert most_in_any_window(sent, 0.19) == 1


async def test_a_group_gets_at_most_its_share_per_window(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    limits = Limits(overall=None, per_group=(3, 0.4), per_chat=None)  # 20 a minute, sped up
    bot = await running(api, db, library, clock, limits)
    try:
        to = Address("telegram", str(GROUP.id))
        await asyncio.gather(*(bot.adapter.send(Outgoing(to, "hi")) for _ in range(5)))
    finally:
        await bot.stop()

    assert len(api.sent(GROUP.id)) == 5
    assert most_in_any_window(api.sent(GROUP.id), 0.39) <= 3


async def test_a_group_at_its_limit_does_not_hold_up_another_couples_reply(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    limits = Limits(overall=None, per_group=(1, 1.0), per_chat=None)
    bot = await running(api, db, library, clock, limits)
    try:
        await bot.say("/help")  # the group's one message this second
        api.say("/privacy")  # its answer has to wait for the next second...
        dm = await bot.say("/help", chat=DM)  # ...but this couple's answer does not
        [late] = await api.replies(1, chat_id=GROUP.id, after=api.calls.index(dm))
    finally:
        await bot.stop()

    assert late.at - dm.at > 0.5


async def test_checking_a_member_does_not_wait_for_a_busy_groups_turn(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    limits = Limits(overall=None, per_group=(1, 60.0), per_chat=None)
    bot = await running(api, db, library, clock, limits)
    api.members.add((GROUP.id, ALICE.id))
    group = Address("telegram", str(GROUP.id))
    try:
        await bot.adapter.send(Outgoing(group, "hi"))  # the group's one message this minute
        waiting = asyncio.create_task(bot.adapter.send(Outgoing(group, "again")))
        window = bot.adapter.flood._groups[str(GROUP.id)]

        async def queued() -> bool:  # first in line for the group's next turn, a minute away
            return window._urgent.locked()

        await until(queued)
        member = await bot.adapter.is_member(group, str(ALICE.id))
        # Order, not time: the lookup was answered while the message queued before it waits.
        still_waiting = not waiting.done()
        waiting.cancel()
    finally:
        await bot.stop()

    assert member  # a lookup posts nothing: it is not a message to pace
    assert still_waiting
    assert [c.text for c in api.sent(GROUP.id)] == ["hi"]


async def test_a_tap_is_answered_even_while_sends_wait_out_a_flood(bot: Running) -> None:
    await bot.say("/start")
    checkin = await bot.say("/checkin")
    bot.api.fail_next("sendMessage", 429, "Too Many Requests: retry after 600", retry_after=600)
    flood = await bot.adapter.send(Outgoing(Address("telegram", str(GROUP.id)), "hi"))
    assert flood.status is SendStatus.RETRY

    answer = await bot.tap(checkin.result["message_id"], checkin.actions[0], user=ALICE)

    assert answer.error is None
    assert answer.params["text"].startswith("Thanks, Alice.")


def test_the_defaults_are_telegrams_published_limits() -> None:
    limits = Limits()

    assert limits.overall == (30, 1.0)
    assert limits.per_group == (20, 60.0)
    assert limits.per_chat is not None and limits.per_chat[0] / limits.per_chat[1] == 1.0


async def test_a_throttled_groups_queue_does_not_take_every_other_chats_turn(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    # The group may post once a minute; 80 commands queue up behind its limit.
    limits = Limits(overall=None, per_group=(1, 60.0), per_chat=None)
    bot = await running(api, db, library, clock, limits)
    try:
        await bot.say("/help")  # the group's one message this minute
        for _ in range(80):  # more than PTB's 64 concurrent updates
            api.say("/privacy")
        await api.wait_for(lambda: len(api.of("getUpdates")) >= 3)  # they have been fetched

        dm = await bot.say("/help", chat=DM)  # another couple is answered at once

        assert dm.error is None
        assert len(api.sent(GROUP.id)) == 1  # while the group still waits its turn
    finally:
        flood = bot.adapter._app.bot.rate_limiter if bot.adapter._app else None
        if isinstance(flood, FloodControl):  # let the group's queue drain, so stop is quick
            for window in flood._groups.values():
                window.count = 1000
                window._freed.set()
        await bot.stop()


async def test_one_busy_groups_flood_wait_holds_up_only_that_group(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    api.flood = FloodRules()  # Telegram's 30 a second and 20 a minute per group, on arrival
    bot = await running(api, db, library, clock, Limits())
    loop = asyncio.get_running_loop()
    api.flood.groups[GROUP.id] = deque([loop.time()] * 20)  # it posted 20 times this minute
    others = [Address("telegram", str(-2000 - n)) for n in range(40)]
    try:
        busy = await bot.adapter.send(Outgoing(Address("telegram", str(GROUP.id)), "hi"))
        results = await asyncio.gather(*(bot.adapter.send(Outgoing(c, "hi")) for c in others))
        again = await bot.adapter.send(Outgoing(Address("telegram", str(GROUP.id)), "hi"))
    finally:
        await bot.stop()

    assert busy.status is SendStatus.RETRY and (busy.retry_after or 0) > 30
    # Delivered, not sent back to wait out the busy group's minute (the 429 would have made
    # them RETRY past max_wait). How soon (about 1.1 s: 40 at 30 a second) is for make bench.
    assert [r.status for r in results] == [SendStatus.DELIVERED] * 40
    assert again.status is SendStatus.RETRY  # the busy group itself is not asked again...
    assert len(api.of("sendMessage", chat_id=GROUP.id, ok=False)) == 1  # ...Telegram is spared


async def test_instances_sharing_a_token_each_take_their_share_of_30_a_second(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    bot = await running(api, db, library, clock, Limits(per_group=None, per_chat=None))
    bot.adapter.set_instances(3)  # three live instances: 10 a second each
    api.open_private(*range(3000, 3025))
    try:
        chats = [Address("telegram", str(3000 + n)) for n in range(25)]
        results = await asyncio.gather(*(bot.adapter.send(Outgoing(c, "hi")) for c in chats))
    finally:
        await bot.stop()

    assert all(r.status is SendStatus.DELIVERED for r in results)
    assert most_in_any_window(api.sent(), 1.0) <= 10


async def test_a_reply_someone_waits_for_goes_before_queued_scheduled_prompts(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    """30 prompts a second for everyone: a burst of scheduled prompts queues at the overall
    limit, and a couple's reply (a /checkin, an answer to a tap) takes the next free slot instead
    of waiting behind all of them."""
    limits = Limits(overall=(2, 0.2), per_group=None, per_chat=None)  # 30 a second, sped up
    bot = await running(api, db, library, clock, limits)
    api.open_private(DM.id, *range(2000, 2012))
    try:
        prompts = [
            asyncio.create_task(
                bot.adapter.send(Outgoing(Address("telegram", str(2000 + n)), "prompt", bulk=True))
            )
            for n in range(12)
        ]
        await api.wait_for(lambda: len(api.sent()) >= 2, 10)  # the burst is under way
        reply = await bot.adapter.send(Outgoing(Address("telegram", str(DM.id)), "your check-in"))
        await asyncio.gather(*prompts)
    finally:
        await bot.stop()

    assert reply.status is SendStatus.DELIVERED
    order = [c.chat_id for c in api.sent()]
    assert order.index(DM.id) <= 4, order  # the next slot or so, not the 13th
