"""The test harness: a couple driving the real adapter against the fake Discord, and what they saw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from adapters.discord_adapter import DiscordAdapter
from bot.app import Router
from bot.content import Library
from bot.service import Tandem
from bot.settings import Settings
from bot.store import Store
from tests.discord.discord_fakes import ALICE, DM, HOME, FakeDiscord, Person, Post
from tests.fakes import FixedClock

TOKEN = "fake-token-never-in-logs"


@dataclass
class Answer:
    """What the bot showed while answering one interaction."""

    posts: list[Post]

    @property
    def public(self) -> list[str]:
        return [p.content for p in self.posts if p.shown and not p.ephemeral]

    @property
    def private(self) -> list[str]:
        return [p.content for p in self.posts if p.shown and p.ephemeral]

    @property
    def modal(self) -> Post:
        [modal] = [p for p in self.posts if p.kind == "modal"]
        return modal

    @property
    def choices(self) -> list[str]:
        [post] = [p for p in self.posts if p.kind == "choices"]
        return [c["name"] for c in post.data["choices"]]


@dataclass
class Couple:
    """Drives the adapter the way members do: slash commands, taps, notes, and the clock."""

    fake: FakeDiscord
    adapter: DiscordAdapter
    tandem: Tandem
    clock: FixedClock
    via_gateway: bool = False

    async def run(self, payload: dict[str, Any]) -> Answer:
        start = len(self.fake.timeline)
        if self.via_gateway:
            await self.fake.push("INTERACTION_CREATE", payload)
        else:
            self.adapter.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
        await self.fake.answered(int(payload["id"]))
        await self.adapter.idle()
        return Answer(self.fake.timeline[start:])

    async def slash(self, person: Person, name: str, channel: Any = HOME, **options: Any) -> Answer:
        return await self.run(self.fake.command(name, person, channel, **options))

    async def tap(self, person: Person, post: Post, label: str) -> Answer:
        return await self.run(self.fake.tap(person, post, label))

    async def note(self, person: Person, post: Post, text: str) -> Answer:
        form = await self.tap(person, post, "Add a note")
        return await self.run(self.fake.submit(person, form.modal, text))

    async def settle(self) -> None:
        """Waits until the bot has dealt with every gateway event pushed before this call."""
        # An autocomplete changes nothing, and Discord events are handled in the order they came.
        barrier = self.fake.autocomplete("timezone", ALICE, DM, "zone", zone="a")
        await self.fake.push("INTERACTION_CREATE", barrier)
        await self.fake.answered(int(barrier["id"]))
        await self.adapter.idle()

    async def dispatch(self) -> list[Post]:
        start = len(self.fake.timeline)
        await self.tandem.dispatch_due()
        return self.fake.timeline[start:]


def settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, discord_bot_token=SecretStr(TOKEN), **overrides)


def new_adapter(**overrides: Any) -> DiscordAdapter:
    return DiscordAdapter(settings(**overrides), guild_ready_timeout=0.01, ready_timeout=5)


def core(store: Store, clock: FixedClock, library: Library, adapter: DiscordAdapter) -> Tandem:
    router = Router({adapter.platform: adapter})
    return Tandem(store, clock, library, router, platforms=frozenset(router.adapters))
