"""`tandem doctor`'s token checks: Telegram's getMe and Discord's login, read-only, nothing started."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
import telegram
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.doctor import Finding, TokenCheck
from bot.settings import Settings

TIMEOUT = 15.0


async def telegram_token(settings: Settings) -> Finding:
    assert settings.telegram_bot_token is not None
    bot = telegram.Bot(
        settings.telegram_bot_token.get_secret_value(), base_url=settings.telegram_base_url
    )
    try:
        async with asyncio.timeout(TIMEOUT):
            me = await bot.get_me()
    except InvalidToken:
        return Finding(
            "Telegram token",
            False,
            "refused by Telegram: copy the token again from @BotFather (/mybots, API Token) "
            "into TELEGRAM_BOT_TOKEN",
        )
    except (TimeoutError, NetworkError) as err:
        return Finding(
            "Telegram token",
            False,
            f"could not reach {settings.telegram_base_url} ({type(err).__name__}): check this "
            "host's network, proxy or TELEGRAM_BASE_URL",
        )
    except TelegramError as err:
        return Finding("Telegram token", False, f"Telegram answered: {err.message}")
    finally:
        await bot.shutdown()
    return Finding("Telegram token", True, f"accepted: the bot is @{me.username}")


async def discord_token(settings: Settings) -> Finding:
    assert settings.discord_bot_token is not None
    client = discord.Client(intents=discord.Intents.none())
    try:
        async with asyncio.timeout(TIMEOUT):
            await client.login(settings.discord_bot_token.get_secret_value())
        user = client.user
    except discord.LoginFailure:
        return Finding(
            "Discord token",
            False,
            "refused by Discord: reset the bot's token in the Developer Portal (your "
            "application, Bot, Reset Token) and put it in DISCORD_BOT_TOKEN",
        )
    except (TimeoutError, OSError, aiohttp.ClientError, discord.HTTPException) as err:
        return Finding(
            "Discord token",
            False,
            f"could not log in to Discord ({type(err).__name__}): check this host's network",
        )
    finally:
        await client.close()
    return Finding("Discord token", True, f"accepted: the bot is {user}")


def token_checks(settings: Settings) -> list[TokenCheck]:
    checks: list[TokenCheck] = []
    if settings.telegram_bot_token is not None:
        checks.append(telegram_token)
    if settings.discord_bot_token is not None:
        checks.append(discord_token)
    return checks
