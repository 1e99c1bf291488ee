"""Reads the settings once, from the environment and .env (the environment wins); mirrors .env.example."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.content import default_content_dir
from bot.errors import UserError
from bot.store import async_url
from bot.timeparse import parse_zone

WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class SettingsError(Exception):
    """A setting has an invalid value; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None  # webhook mode when set; long polling otherwise
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: int = Field(default=8443, ge=1, le=65535)
    # Telegram's paid broadcasts: scheduled sends go out with allow_paid_broadcast (Telegram
    # charges Stars for each message beyond 30 a second) and the bot's overall rate rises to
    # 1,000 a second. Off by default: nothing is ever paid for unless the operator says so.
    telegram_paid_broadcast: bool = False
    discord_bot_token: SecretStr | None = None
    discord_dev_guild_id: int | None = None  # sync slash commands to this guild only (instant)
    # Several processes on one Discord bot: how many shards in all, and which this process runs
    # ("0,1" or "0-3"); empty: one process runs every shard (one, unless a count is set).
    discord_shard_count: int | None = Field(default=None, ge=1, le=10_000)
    discord_shard_ids: str | None = None
    database_url: str = "sqlite:///data/tandem.db"
    default_timezone: str = "UTC"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    catchup_grace_minutes: int = Field(default=180, ge=0, le=24 * 60)
    tick_seconds: float = Field(default=5.0, ge=0.5, le=60)
    content_dir: Path = Field(default_factory=default_content_dir)
    # Retention: notes (and closed promises) older than this are erased by the daily pass...
    note_retention_days: int = Field(default=365, ge=1, le=3650)
    # ...and a space whose bot was removed is erased this long after.
    inactive_retention_days: int = Field(default=90, ge=1, le=3650)
    # The key that encrypts notes and promises at rest ("new,old" while rotating); when unset, a
    # key file next to the SQLite database (or data/tandem.key), created at the first start.
    tandem_data_key: SecretStr | None = None
    tandem_key_file: Path | None = None
    # /healthz and /metrics on this port (every mode, the console too); unset: no server.
    tandem_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    tandem_metrics_listen: str = "0.0.0.0"
    tandem_log_format: Literal["text", "json"] = "text"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        try:
            async_url(value)
        except Exception as err:
            raise ValueError(
                f"{err}; e.g. sqlite:///data/tandem.db or postgresql://user@host/db"
            ) from None
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram takes 1-256 of A-Z a-z 0-9 _ -; anything else fails setWebhook at the start.
        if value is not None and not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError(
                "should be 1 to 256 letters, digits, _ or - (Telegram refuses others); "
                "e.g. TELEGRAM_WEBHOOK_SECRET=k3J9_xq-2Lw, or leave it empty for a random one"
            )
        return value

    @field_validator("discord_shard_ids")
    @classmethod
    def _shards(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        count = info.data.get("discord_shard_count")
        example = "e.g. DISCORD_SHARD_COUNT=4 and DISCORD_SHARD_IDS=0,1 (or 0-1)"
        if count is None:
            raise ValueError(f"needs DISCORD_SHARD_COUNT as well; {example}")
        ids = shard_list(value)
        if ids is None:
            raise ValueError(f"should be shard numbers like 0,1 or 0-3; {example}")
        if any(i >= count for i in ids):
            raise ValueError(
                f"shard {max(ids)} is not below DISCORD_SHARD_COUNT={count} "
                f"(shards are 0 to {count - 1}); {example}"
            )
        return ",".join(map(str, ids))

    @property
    def discord_shards(self) -> tuple[int, list[int]] | None:
        """(shard count, the shards this process runs), or None for discord.py's single shard."""
        if self.discord_shard_count is None:
            return None
        ids = shard_list(self.discord_shard_ids or "")
        return self.discord_shard_count, ids or list(range(self.discord_shard_count))

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            return parse_zone(value).name
        except UserError as err:
            raise ValueError(err.message) from None


def shard_list(text: str) -> list[int] | None:
    """ "0,1" or "0-3" or "0-1,4" -> sorted distinct shard numbers; None if malformed or empty."""
    ids: set[int] = set()
    for part in text.replace(" ", "").split(","):
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            return None
        low, high = int(first), int(last) if dash else int(first)
        if high < low or high - low > 10_000:
            return None
        ids.update(range(low, high + 1))
    return sorted(ids) or None


def load_settings(env_file: str | None = ".env") -> Settings:
    """Settings from the environment and `env_file`; raises SettingsError naming the bad one."""
    try:
        settings = Settings(_env_file=env_file)
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "?"
        raise SettingsError(f"Invalid setting {name}: {first['msg']}") from None
    if (
        settings.telegram_webhook_url is not None
        and settings.telegram_webhook_secret is None
        and settings.database_url.startswith("postgres")
    ):
        # Each process would make its own random secret, and behind a load balancer Telegram
        # would know only the last one set: every other instance would refuse its calls.
        raise SettingsError(
            "Invalid setting TELEGRAM_WEBHOOK_SECRET: webhook mode on PostgreSQL (where several "
            "instances may run) needs one secret shared by all of them; set it, e.g. "
            "TELEGRAM_WEBHOOK_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return settings
