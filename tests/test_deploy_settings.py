"""Settings an operator running several instances must get right before anything starts."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings


def test_webhook_mode_on_postgresql_needs_a_shared_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.example.org/telegram")
    monkeypatch.setenv("DATABASE_URL", "postgresql://tandem@db/tandem")
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SettingsError, match="Invalid setting TELEGRAM_WEBHOOK_SECRET"):
        load_settings(None)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "k3J9_xq-2Lw")
    assert load_settings(None).telegram_webhook_secret is not None


def test_webhook_mode_on_sqlite_may_make_its_own_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.example.org/telegram")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///data/tandem.db")  # one process, always
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    assert load_settings(None).telegram_webhook_secret is None
