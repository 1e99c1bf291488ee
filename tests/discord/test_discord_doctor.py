"""`tandem doctor` logs in to the (fake) Discord: a token it accepts, and one it refuses."""

from __future__ import annotations

from adapters.doctor_checks import discord_token
from bot.settings import Settings
from tests.discord.discord_fakes import FakeDiscord


def settings() -> Settings:
    return Settings(_env_file=None, discord_bot_token="fake-discord-token")  # type: ignore[call-arg]


async def test_an_accepted_token_names_the_bot(fake: FakeDiscord) -> None:
    found = await discord_token(settings())
    assert found.ok and found.says.startswith("accepted: the bot is ")
    assert not fake.identifies  # logged in over REST only: no gateway session was opened


async def test_a_refused_token_says_where_to_reset_it(fake: FakeDiscord) -> None:
    fake.token_valid = False
    found = await discord_token(settings())
    assert not found.ok
    assert "refused by Discord" in found.says and "Reset Token" in found.says
