"""End to end over a real websocket: a couple's day, disconnects, joining and leaving servers, logs."""

from __future__ import annotations

import asyncio
import logging

import discord
import pytest

from bot.content import Library
from bot.store import Store
from tests.discord.discord_fakes import (
    ALICE,
    BOB,
    BOT,
    GUILD_ID,
    HOME,
    SEND,
    Channel,
    FakeDiscord,
    Reply,
    error,
    guild_payload,
    rate_limited,
    rows_of,
)
from tests.discord.harness import TOKEN, Couple, core, new_adapter
from tests.fakes import FixedClock

NEW_GUILD = 800_000_000_000_000_002


@pytest.fixture
def live(couple: Couple) -> Couple:
    couple.via_gateway = True
    return couple


async def test_a_couples_day(live: Couple, fake: FakeDiscord) -> None:
    wanted = discord.Intents(guilds=True, dm_messages=True, guild_messages=True)  # none privileged
    assert [i["intents"] for i in fake.identifies] == [wanted.value]
    started = await live.slash(ALICE, "start")
    assert "not therapy" in started.public[0]
    await live.slash(BOB, "start")
    await live.slash(ALICE, "timezone", zone="Europe/Berlin")
    await live.slash(BOB, "remind", time="20:30")
    await live.slash(ALICE, "checkin", time="21:30")

    live.clock.set("2026-11-21T19:29:00+00:00")  # 20:29 in Berlin
    assert await live.dispatch() == []
    live.clock.set("2026-11-21T19:30:00+00:00")
    # No private chats: the check-in comes with the step, in one message, at the earlier time.
    [checkin] = await live.dispatch()
    assert checkin.channel_id == HOME.id and checkin.content.startswith("🌱 Today's step")
    assert "\n\n💬 Check-in:" in checkin.content
    live.clock.set("2026-11-21T20:30:00+00:00")
    assert await live.dispatch() == []
    assert len(rows_of(checkin)) == 3 and "Add a note" in rows_of(checkin)[1]
    alice = await live.tap(ALICE, checkin, "4")
    assert alice.private[0].startswith("Thanks, Alice. Your check-in for Sat 21 Nov is saved: 4/5.")
    bob = await live.tap(BOB, checkin, "5")
    assert bob.public == [
        "💛 You've both checked in for Sat 21 Nov. Days you both showed up: 1.\nAlice 4/5 · Bob 5/5"
    ]
    noted = await live.note(ALICE, checkin, "We laughed a lot today.")
    assert noted.private[0].startswith("📝 Note saved with your check-in for Sat 21 Nov, Alice.")
    assert fake.public(HOME).count(checkin.content) == 1
    assert fake.thinking() == []


async def test_after_a_disconnect_the_bot_resumes_and_a_prompt_due_meanwhile_arrives_once(
    live: Couple, fake: FakeDiscord
) -> None:
    await live.slash(ALICE, "start")
    await live.slash(ALICE, "remind", time="20:30")
    await fake.drop_gateway(reopen=False)
    live.clock.set("2026-11-21T20:30:00+00:00")
    [prompt] = await live.dispatch()  # sending is REST: it works while the gateway is away
    assert prompt.content.startswith("🌱 Today's step")
    fake.reopen_gateway()
    await fake.connected()
    assert [r["session_id"] for r in fake.resumes] == ["session-1"]
    assert len(fake.identifies) == 1  # resumed, not a new session
    said = await live.slash(BOB, "schedule")
    assert "Daily prompt: 20:30 every day" in said.public[0]
    live.clock.advance(minutes=5)
    assert await live.dispatch() == []


async def test_when_discord_is_down_altogether_the_prompt_comes_once_it_is_back(
    live: Couple, fake: FakeDiscord
) -> None:
    await live.slash(ALICE, "start")
    await live.slash(ALICE, "remind", time="20:30")
    await fake.drop_gateway(reopen=False)
    fake.script(HOME.id, Reply(503, {"message": "unavailable"}), Reply(drop=True))
    live.clock.set("2026-11-21T20:30:00+00:00")
    assert await live.dispatch() == []
    fake.reopen_gateway()
    await fake.connected()
    live.clock.advance(minutes=1)
    await live.dispatch()
    live.clock.advance(minutes=2)
    [prompt] = await live.dispatch()
    live.clock.advance(minutes=10)
    assert await live.dispatch() == []
    assert fake.public(HOME).count(prompt.content) == 1


async def test_joining_a_server_posts_a_short_welcome_where_it_may_write(
    live: Couple, fake: FakeDiscord
) -> None:
    news = Channel(700_000_000_000_000_011, "news", NEW_GUILD)
    general = Channel(700_000_000_000_000_012, "general", NEW_GUILD)
    server = guild_payload(NEW_GUILD, [news, general], system_channel=news)
    deny_send = {"id": str(NEW_GUILD), "type": 0, "allow": "0", "deny": str(SEND)}
    server["channels"][0]["permission_overwrites"] = [deny_send]
    await fake.push("GUILD_CREATE", server)
    await live.settle()
    assert fake.public(news) == []
    [welcome] = fake.public(general)
    assert "not therapy" in welcome and "/start" in welcome and len(welcome) < 600


async def a_prompt_at_20_30(live: Couple) -> None:
    """Alice starts a space with a daily prompt at 20:30, and checks that it is set."""
    await live.slash(ALICE, "start")
    confirmed = await live.slash(ALICE, "remind", time="20:30")
    assert confirmed.public[0].startswith("✅ Daily prompt set for 20:30"), confirmed.public
    schedule = (await live.slash(ALICE, "schedule")).public[0]
    assert "Daily prompt: 20:30 every day" in schedule


async def test_removed_from_a_server_its_spaces_go_quiet(live: Couple, fake: FakeDiscord) -> None:
    await a_prompt_at_20_30(live)
    await fake.push("GUILD_DELETE", {"id": str(GUILD_ID)})
    await live.settle()
    live.clock.set("2026-11-21T20:30:00+00:00")
    assert await live.dispatch() == [] and fake.posts_to(HOME.id) == 0


async def test_a_deleted_channel_goes_quiet_without_a_failed_send(
    live: Couple, fake: FakeDiscord
) -> None:
    await a_prompt_at_20_30(live)
    await fake.push("CHANNEL_DELETE", HOME.payload())
    await live.settle()
    live.clock.set("2026-11-21T20:30:00+00:00")
    assert await live.dispatch() == [] and fake.posts_to(HOME.id) == 0


async def test_a_bad_token_stops_the_start_without_showing_it(
    fake: FakeDiscord, store: Store, clock: FixedClock, library: Library
) -> None:
    fake.token_valid = False
    adapter = new_adapter()
    with pytest.raises(discord.LoginFailure) as failed:
        await adapter.start(core(store, clock, library, adapter))
    await adapter.stop()
    assert TOKEN not in str(failed.value)


async def test_the_token_and_what_people_write_never_reach_the_logs(
    fake: FakeDiscord,
    store: Store,
    clock: FixedClock,
    library: Library,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="discord")  # as bot.app.setup_logging leaves it
    adapter = new_adapter()
    await adapter.start(core(store, clock, library, adapter))
    couple = Couple(fake, adapter, adapter.tandem, clock, via_gateway=True)
    try:
        await couple.slash(ALICE, "start")
        await couple.slash(ALICE, "remind", time="20:30")
        await couple.slash(ALICE, "checkin")
        secret = "a private worry about money"
        await couple.note(ALICE, fake.last_message(HOME), secret)
        fake.script(HOME.id, rate_limited(0.01), error(403, 50013, "Missing Permissions"))
        clock.set("2026-11-21T20:30:00+00:00")
        await couple.dispatch()
    finally:
        await adapter.stop()
    assert caplog.records, "the run should have logged something"
    assert TOKEN not in caplog.text
    assert secret not in caplog.text and "Today's step" not in caplog.text


async def test_words_of_danger_typed_in_a_dm_are_answered_there_alone(
    live: Couple, fake: FakeDiscord
) -> None:
    await live.slash(ALICE, "start")
    await live.slash(BOB, "start")
    dm = fake.dm(ALICE)
    before = len(fake.timeline)
    await fake.push("MESSAGE_CREATE", fake.typed(ALICE, dm, "we had a lovely walk"))
    await fake.push("MESSAGE_CREATE", fake.typed(ALICE, dm, "he pushed me down the stairs"))
    await fake.push(
        "MESSAGE_CREATE",
        {**fake.typed(BOT, dm, "he hit me"), "author": {**BOT.user(), "bot": True}},
    )
    await live.settle()
    for _ in range(100):  # the DM is read in a task of its own: wait for its answers
        if sum(p.shown for p in fake.timeline[before:]) >= 2:
            break
        await asyncio.sleep(0.02)
    await live.adapter.idle()
    posts = [p for p in fake.timeline[before:] if p.shown]
    # Two answers: the walk gets the gentle line (bot/talk/), the words of danger their care;
    # the bot's own words none.
    [walk, care] = posts
    assert walk.channel_id == dm.id and "Two things to try" in walk.content
    assert care.channel_id == dm.id
    assert "112" in care.content or "emergency" in care.content.lower()
    assert fake.public(HOME) == [
        p.content for p in fake.timeline[:before] if p.shown and p.channel_id == HOME.id
    ]
