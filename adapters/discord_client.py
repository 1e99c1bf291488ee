"""The discord.py client: minimal intents, shards, and the gateway events and interactions it passes to the adapter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import discord

from bot.command import Command

MAX_RATELIMIT_WAIT = 30.0  # longer 429 waits come back as RETRY instead of holding a delivery slot


class Receiver(Protocol):
    """What the client, Tandem's buttons and its slash commands hand to the adapter."""

    async def setup(self) -> None: ...

    async def welcome(self, guild: discord.Guild) -> None: ...

    async def removed(self, channels: Sequence[discord.abc.Snowflake]) -> None: ...

    async def command(
        self, interaction: discord.Interaction[discord.Client], command: Command, line: str
    ) -> None: ...

    async def answer(
        self, interaction: discord.Interaction[discord.Client], *, action: str, text: str = ""
    ) -> None: ...

    async def open_note(
        self, interaction: discord.Interaction[discord.Client], action: str
    ) -> None: ...

    async def respond_error(self, interaction: discord.Interaction[discord.Client]) -> None: ...

    async def direct_message(self, message: discord.Message) -> None: ...

    async def mentioned(self, message: discord.Message, me: int) -> None: ...


class TandemClient(discord.Client):
    """The discord.py client: minimal intents, no pings, and the events the adapter cares about."""

    def __init__(self, adapter: Receiver, guild_ready_timeout: float, **shards: Any) -> None:
        # Tandem never joins voice; the missing-voice-library warnings would only puzzle operators.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True  # channels and permissions; no members, no message content
        # Words typed in a DM with Tandem. Not privileged: Discord gives a DM's text to the app
        # without the message-content intent (servers' it does not).
        intents.dm_messages = True
        # A server's messages, for the ones that mention Tandem: Discord gives an app the text of
        # a message that mentions it, also without the message-content intent; all others arrive
        # empty and are dropped at once.
        intents.guild_messages = True
        super().__init__(
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            member_cache_flags=discord.MemberCacheFlags.none(),
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
            guild_ready_timeout=guild_ready_timeout,
            **shards,
        )
        self.adapter = adapter

    async def setup_hook(self) -> None:
        await self.adapter.setup()

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        if message.guild is None:
            await self.adapter.direct_message(message)
        elif self.user is not None and any(u.id == self.user.id for u in message.mentions):
            await self.adapter.mentioned(message, self.user.id)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.adapter.welcome(guild)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.adapter.removed([*guild.channels, *guild.threads])

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self.adapter.removed([channel])

    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self.adapter.removed([discord.Object(payload.thread_id)])


class ShardedTandemClient(TandemClient, discord.AutoShardedClient):
    """The same client, sharded: by default as many shards as Discord recommends (it requires
    them from 2,500 servers), all in this process; or some of a set count (DISCORD_SHARD_COUNT,
    DISCORD_SHARD_IDS), so several processes share one bot. Discord sends DMs to shard 0 only."""


def make_client(
    adapter: Receiver, guild_ready_timeout: float, shards: tuple[int, list[int]] | None
) -> TandemClient:
    if shards is None:
        return ShardedTandemClient(adapter, guild_ready_timeout)
    count, ids = shards
    return ShardedTandemClient(adapter, guild_ready_timeout, shard_count=count, shard_ids=ids)


def adapter_of(interaction: discord.Interaction[discord.Client]) -> Receiver:
    client = interaction.client
    assert isinstance(client, TandemClient)
    return client.adapter
