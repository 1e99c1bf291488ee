"""Sending over Discord's REST API: long messages, files, and each of Discord's failures as the core sees it."""

from __future__ import annotations

from dataclasses import replace

from bot.content import Library
from bot.messages import Address, Attachment, Button, Outgoing, SendResult, SendStatus
from bot.store import Store
from tests.discord.discord_fakes import (
    ALICE,
    DM,
    HOME,
    OK,
    FakeDiscord,
    Reply,
    error,
    rate_limited,
)
from tests.discord.harness import Couple, core, new_adapter
from tests.fakes import FixedClock

TO_HOME = Address("discord", str(HOME.id))


async def prompt_due(couple: Couple) -> None:
    """A daily prompt at 20:30 UTC, and the clock at that minute."""
    await couple.slash(ALICE, "start")
    await couple.slash(ALICE, "remind", time="20:30")
    couple.clock.set("2026-11-21T20:30:00+00:00")


def prompts_in(couple: Couple) -> list[str]:
    return [t for t in couple.fake.public(HOME) if t.startswith("🌱 Today's step")]


async def test_long_text_is_split_at_paragraphs_with_buttons_under_the_last_part(
    couple: Couple,
) -> None:
    paragraphs = [f"Paragraph {i}: " + "trust grows in small steps. " * 30 for i in range(6)]
    text = "\n\n".join(paragraphs)
    buttons = (Button("Yes", "f:yes"), Button("No", "f:no"))
    result = await couple.adapter.send(Outgoing(TO_HOME, text, buttons))
    posts = [p for p in couple.fake.timeline if p.kind == "message"]
    assert len(posts) == 3 and all(len(p.content) <= 2000 for p in posts)
    assert " ".join(p.content for p in posts).split() == text.split()
    assert all(p.content.startswith("Paragraph") for p in posts)
    assert [p.buttons for p in posts] == [[], [], [("Yes", "f:yes"), ("No", "f:no")]]
    assert result == replace(SendResult.delivered(str(posts[-1].message_id)), parts_sent=3)


async def test_an_attachment_becomes_a_file(couple: Couple) -> None:
    data = b'{"hello": "you two"}'
    await couple.adapter.send(Outgoing(TO_HOME, "📦 Here.", attachment=Attachment("us.json", data)))
    assert couple.fake.last_message(HOME).files == [("us.json", data)]


async def test_messages_never_ping_anyone(couple: Couple) -> None:
    await couple.adapter.send(Outgoing(TO_HOME, "A thought for @everyone"))
    assert couple.fake.last_message(HOME).data["allowed_mentions"]["parse"] == []


async def test_a_private_message_is_never_posted_to_the_channel(couple: Couple) -> None:
    result = await couple.adapter.send(Outgoing(TO_HOME, "only for Alice", private=True))
    assert result.status is SendStatus.FAILED
    assert couple.fake.posts_to(HOME.id) == 0


async def test_a_channel_the_bot_lost_costs_one_request_then_none(couple: Couple) -> None:
    couple.fake.script(HOME.id, error(403, 50001, "Missing Access"))
    long = Outgoing(TO_HOME, "word " * 1000)  # three parts
    first = await couple.adapter.send(long)
    second = await couple.adapter.send(long)
    assert (first.status, second.status) == (SendStatus.GONE, SendStatus.GONE)
    assert "50001" in first.reason
    assert couple.fake.posts_to(HOME.id) == 1
    await couple.slash(ALICE, "start")  # someone uses Tandem there again
    assert (await couple.adapter.send(Outgoing(TO_HOME, "hi"))).status is SendStatus.DELIVERED


async def test_a_deleted_channel_stops_its_space(couple: Couple) -> None:
    await prompt_due(couple)
    couple.fake.script(HOME.id, error(404, 10003, "Unknown Channel"))
    await couple.dispatch()
    couple.clock.set("2026-11-22T20:30:00+00:00")
    await couple.dispatch()
    assert couple.fake.posts_to(HOME.id) == 1 and prompts_in(couple) == []


async def test_a_dm_the_member_closed_is_gone_for_the_core_but_tried_again_later(
    couple: Couple,
) -> None:
    couple.fake.script(DM.id, error(403, 50007, "Cannot send messages to this user"))
    to_dm = Address("discord", str(DM.id))
    result = await couple.adapter.send(Outgoing(to_dm, "hello"))
    assert result.status is SendStatus.GONE and "50007" in result.reason
    # The member may open their DMs again; unlike a lost channel, nothing is remembered here.
    assert (await couple.adapter.send(Outgoing(to_dm, "hello"))).status is SendStatus.DELIVERED
    assert couple.fake.posts_to(DM.id) == 2


async def test_a_short_rate_limit_is_waited_out_and_the_prompt_arrives_once(
    couple: Couple,
) -> None:
    await prompt_due(couple)
    couple.fake.script(HOME.id, rate_limited(0.01))
    await couple.dispatch()
    assert couple.fake.posts_to(HOME.id) == 2 and len(prompts_in(couple)) == 1


async def test_a_long_rate_limit_is_retried_after_the_wait_not_lost(couple: Couple) -> None:
    couple.fake.script(HOME.id, rate_limited(120))
    result = await couple.adapter.send(Outgoing(TO_HOME, "hello"))
    assert result.status is SendStatus.RETRY and result.retry_after == 120
    await prompt_due(couple)
    couple.fake.script(HOME.id, rate_limited(120))
    await couple.dispatch()
    assert prompts_in(couple) == []
    couple.clock.advance(minutes=1)
    await couple.dispatch()
    assert prompts_in(couple) == []  # not before Discord's wait is over
    couple.clock.advance(minutes=2)
    await couple.dispatch()
    assert len(prompts_in(couple)) == 1


async def test_server_errors_and_dropped_connections_are_retried_and_delivered_once(
    couple: Couple,
) -> None:
    await prompt_due(couple)
    couple.fake.script(HOME.id, Reply(503, {"message": "unavailable"}))
    await couple.dispatch()
    couple.fake.script(HOME.id, Reply(drop=True))
    couple.clock.advance(minutes=1)
    await couple.dispatch()
    assert prompts_in(couple) == []
    couple.clock.advance(minutes=2)
    await couple.dispatch()
    couple.clock.advance(minutes=5)
    await couple.dispatch()
    assert couple.fake.posts_to(HOME.id) == 3 and len(prompts_in(couple)) == 1


async def test_a_send_discord_keeps_retrying_gives_up_in_time_as_retry(couple: Couple) -> None:
    couple.adapter.send_timeout = 0.2  # discord.py itself retries a 500 for up to 25 s
    couple.fake.script(HOME.id, Reply(500, {"message": "internal"}))
    result = await couple.adapter.send(Outgoing(TO_HOME, "hello"))
    assert result.status is SendStatus.RETRY and result.reason == "timeout"


async def test_a_rejected_message_fails_alone_and_the_space_stays(couple: Couple) -> None:
    couple.fake.script(HOME.id, error(400, 50035, "Invalid Form Body"))
    result = await couple.adapter.send(Outgoing(TO_HOME, "hello"))
    assert result.status is SendStatus.FAILED
    assert (await couple.adapter.send(Outgoing(TO_HOME, "again"))).status is SendStatus.DELIVERED


async def test_sending_before_the_adapter_started_is_retried_later(
    fake: FakeDiscord, store: Store, clock: FixedClock, library: Library
) -> None:
    adapter = new_adapter()
    core(store, clock, library, adapter)
    result = await adapter.send(Outgoing(TO_HOME, "hello"))
    assert result.status is SendStatus.RETRY and fake.posts_to(HOME.id) == 0


async def test_a_retry_posts_only_the_pieces_not_yet_delivered(couple: Couple) -> None:
    text = "\n\n".join(f"Part {i}: " + "small steps. " * 120 for i in range(3))  # 3 pieces
    couple.fake.script(HOME.id, OK, rate_limited(60.0))  # the second piece: a long 429

    failed = await couple.adapter.send(Outgoing(TO_HOME, text))
    retried = await couple.adapter.send(Outgoing(TO_HOME, text, resume_at_part=failed.parts_sent))

    assert (failed.status, failed.parts_sent) == (SendStatus.RETRY, 1)
    assert (retried.status, retried.parts_sent) == (SendStatus.DELIVERED, 3)
    posts = [p.content.split(":")[0] for p in couple.fake.timeline if p.kind == "message"]
    assert posts == ["Part 0", "Part 1", "Part 2"]  # each once, in order
