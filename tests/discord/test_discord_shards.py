"""Several processes on one Discord bot: each runs the shards it is given, and takes its share of
Discord's 50 requests a second."""

from __future__ import annotations

import asyncio

import discord
import pytest

from bot.messages import Address, Outgoing, SendStatus
from bot.settings import SettingsError, load_settings
from tests.discord.discord_fakes import HOME
from tests.discord.harness import Couple, new_adapter


def test_the_client_runs_the_shards_this_process_was_given() -> None:
    adapter = new_adapter(discord_shard_count=4, discord_shard_ids="2-3")

    assert isinstance(adapter.client, discord.AutoShardedClient)
    assert adapter.client.shard_count == 4
    assert adapter.client.shard_ids == [2, 3]


def test_a_count_alone_runs_every_shard_in_this_process() -> None:
    adapter = new_adapter(discord_shard_count=2)

    assert isinstance(adapter.client, discord.AutoShardedClient)
    assert adapter.client.shard_ids == [0, 1]


def test_without_shard_settings_one_process_runs_every_shard_discord_recommends() -> None:
    adapter = new_adapter()

    assert isinstance(adapter.client, discord.AutoShardedClient)
    assert adapter.client.shard_count is None  # asked of Discord at login (/gateway/bot)


@pytest.mark.parametrize(
    ("count", "ids", "says"),
    [
        ("4", "0,4", "shard 4 is not below DISCORD_SHARD_COUNT=4"),
        ("", "0,1", "needs DISCORD_SHARD_COUNT"),
        ("4", "one", "shard numbers like 0,1"),
        ("4", "3-1", "shard numbers like 0,1"),
    ],
)
def test_shard_settings_outside_the_count_stop_the_bot_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, count: str, ids: str, says: str
) -> None:
    monkeypatch.setenv("DISCORD_SHARD_COUNT", count)
    monkeypatch.setenv("DISCORD_SHARD_IDS", ids)

    with pytest.raises(SettingsError) as raised:
        load_settings(None)

    assert "DISCORD_SHARD_IDS" in str(raised.value) and says in str(raised.value)
    assert "DISCORD_SHARD_COUNT=4 and DISCORD_SHARD_IDS=0,1" in str(raised.value)  # an example


async def test_instances_sharing_the_bot_each_take_their_share_of_50_a_second(
    couple: Couple,
) -> None:
    couple.adapter.set_instances(10)  # five requests a second for this one
    to = Address("discord", str(HOME.id))
    loop = asyncio.get_running_loop()
    began = loop.time()

    results = await asyncio.gather(*(couple.adapter.send(Outgoing(to, "hi")) for _ in range(10)))

    assert [r.status for r in results] == [SendStatus.DELIVERED] * 10
    assert loop.time() - began >= 0.9  # 10 at 5 a second: the first 5 at once, then paced
