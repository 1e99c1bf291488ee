"""Discord at scale: a sharded client by default, one process syncing the commands, and heavy
commands acknowledged at once."""

from __future__ import annotations

import discord

from adapters.discord_adapter import DEFER_AT_ONCE
from bot.content import Library
from bot.registry import COMMANDS
from bot.store import Store
from tests.discord.discord_fakes import ALICE, FakeDiscord
from tests.discord.harness import Couple, core, new_adapter
from tests.fakes import FixedClock


async def test_with_no_shard_settings_the_client_shards_as_discord_recommends(
    fake: FakeDiscord, store: Store, clock: FixedClock, library: Library
) -> None:
    adapter = new_adapter()
    assert isinstance(adapter.client, discord.AutoShardedClient)
    await adapter.start(core(store, clock, library, adapter))
    try:
        assert adapter.client.shard_count == 1  # what the fake's /gateway/bot recommends
        assert {c["name"] for c in fake.synced[None]} == set(COMMANDS)
    finally:
        await adapter.stop()


async def test_only_the_process_running_shard_0_syncs_the_commands(
    fake: FakeDiscord, store: Store, clock: FixedClock, library: Library
) -> None:
    adapter = new_adapter(discord_shard_count=2, discord_shard_ids="1")
    await adapter.start(core(store, clock, library, adapter))
    try:
        assert fake.synced == {}
    finally:
        await adapter.stop()


async def test_progress_and_export_are_acknowledged_before_the_core_answers(
    couple: Couple,
) -> None:
    couple.adapter.ack_after = 30.0  # a slow core would otherwise be acknowledged only after this
    await couple.slash(ALICE, "start")
    couple.fake.timeline.clear()
    said = await couple.slash(ALICE, "progress")
    assert couple.fake.timeline[0].kind == "thinking"
    assert any("Days you both showed up: 0" in text for text in said.public)
    assert couple.fake.thinking() == []  # the answer settled it
    assert {"progress", "export"} <= DEFER_AT_ONCE


async def test_the_commands_are_synced_again_only_when_the_table_changed(
    fake: FakeDiscord, store: Store, clock: FixedClock, library: Library
) -> None:
    """A restart (any process, any shard) with the same table PUTs nothing; a changed table
    (a new version of Tandem) is synced at its first start."""

    async def start_once(extra: bool = False) -> None:
        fake.synced.clear()
        adapter = new_adapter()
        if extra:

            async def newer(interaction: discord.Interaction[discord.Client]) -> None:
                pass

            adapter.tree.add_command(
                discord.app_commands.Command(
                    name="newer", description="A command a newer version added", callback=newer
                )
            )
        await adapter.start(core(store, clock, library, adapter))
        await adapter.stop()

    await start_once()
    assert {c["name"] for c in fake.synced[None]} == set(COMMANDS)
    await start_once()
    assert fake.synced == {}  # unchanged: no global PUT at every start
    await start_once(extra=True)
    assert {c["name"] for c in fake.synced[None]} == set(COMMANDS) | {"newer"}
    await start_once(extra=True)
    assert fake.synced == {}
