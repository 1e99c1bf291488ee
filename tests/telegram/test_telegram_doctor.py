"""`tandem doctor` asks the (fake) Bot API's getMe: a token it accepts, one it refuses, no server."""

from __future__ import annotations

from pathlib import Path

from adapters.doctor_checks import telegram_token, token_checks
from bot.settings import Settings
from tests.telegram.fake_api import TOKEN, USERNAME, FakeBotApi


def settings(api_url: str, token: str = TOKEN) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, telegram_bot_token=token, telegram_base_url=api_url
    )


async def test_an_accepted_token_names_the_bot(api: FakeBotApi) -> None:
    found = await telegram_token(settings(api.base_url))
    assert found.ok and found.says == f"accepted: the bot is @{USERNAME}"
    assert [c.method for c in api.calls] == ["getMe"]  # asked, nothing else


async def test_a_refused_token_says_where_to_get_it_again(api: FakeBotApi) -> None:
    found = await telegram_token(settings(api.base_url, "7000001:AAE-not-this-one"))
    assert not found.ok and "refused by Telegram" in found.says and "@BotFather" in found.says


async def test_no_server_is_told_apart_from_a_refused_token(tmp_path: Path) -> None:
    api = FakeBotApi()
    await api.start()
    url = api.base_url
    await api.stop()  # nothing listens there now
    found = await telegram_token(settings(url))
    assert not found.ok and f"could not reach {url}" in found.says


def test_only_the_platforms_with_a_token_are_checked() -> None:
    assert token_checks(settings("http://127.0.0.1:9/bot")) == [telegram_token]
