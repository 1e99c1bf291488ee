"""Reads the settings once, from the environment and .env (the environment wins); mirrors .env.example."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.content import default_content_dir
from bot.errors import UserError
from bot.store import async_url
from bot.timeparse import parse_zone


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
    discord_bot_token: SecretStr | None = None
    discord_dev_guild_id: int | None = None  # sync slash commands to this guild only (instant)
    database_url: str = "sqlite:///data/tandem.db"
    default_timezone: str = "UTC"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    catchup_grace_minutes: int = Field(default=180, ge=0, le=24 * 60)
    tick_seconds: float = Field(default=5.0, ge=0.5, le=60)
    content_dir: Path = Field(default_factory=default_content_dir)
    # The key that encrypts notes and promises at rest ("new,old" while rotating); when unset, a
    # key file next to the SQLite database (or data/tandem.key), created at the first start.
    tandem_data_key: SecretStr | None = None
    tandem_key_file: Path | None = None

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

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            return parse_zone(value).name
        except UserError as err:
            raise ValueError(err.message) from None


def load_settings(env_file: str | None = ".env") -> Settings:
    """Settings from the environment and `env_file`; raises SettingsError naming the bad one."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "?"
        raise SettingsError(f"Invalid setting {name}: {first['msg']}") from None
