"""`tandem doctor`: each thing an operator can get wrong is named with its fix, nothing is written,
and the exit code says whether all is well. Token checks: tests/telegram and tests/discord."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.crypto import new_key
from bot.datakey import open_store
from bot.doctor import Finding, diagnose
from bot.migrate import head
from bot.settings import Settings
from bot.store import make_engine
from tests.conftest import database_at


def settings_for(tmp_path: Path, **values: Any) -> Settings:
    given: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path}/t.db",
        "tandem_key_file": tmp_path / "keys" / "t.key",
        "telegram_bot_token": None,
        "discord_bot_token": None,
        **values,
    }
    return Settings(_env_file=None, **given)  # type: ignore[call-arg]


async def keyed(settings: Settings) -> None:
    """A database as a first start leaves it: migrated, its key file made, the proof sealed."""
    store = await open_store(make_engine(settings.database_url), settings)
    await store.close()


def bad(findings: list[Finding]) -> list[str]:
    return [f"{f.what}: {f.says}" for f in findings if not f.ok]


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


async def test_a_started_database_with_its_key_is_all_well(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    await keyed(settings)
    findings = await diagnose(settings, [])
    assert bad(findings) == []
    said = " | ".join(f.says for f in findings)
    assert f"up to date (revision {head()})" in said and "opens this database" in said


async def test_a_key_file_others_may_read_is_named_with_chmod(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    await keyed(settings)
    key = tmp_path / "keys" / "t.key"
    key.chmod(0o644)
    [problem] = bad(await diagnose(settings, []))
    assert f"chmod 600 {key}" in problem
    assert oct(key.stat().st_mode & 0o777) == "0o644"  # said, not changed


async def test_a_wrong_key_and_a_lost_key_are_told_apart(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    await keyed(settings)
    wrong = settings_for(tmp_path, tandem_data_key=new_key())
    [problem] = bad(await diagnose(wrong, []))
    assert "TANDEM_DATA_KEY does not open this database" in problem
    (tmp_path / "keys" / "t.key").unlink()
    [problem] = bad(await diagnose(settings, []))
    assert "encrypted, but there is no key" in problem and "from your backup" in problem
    assert not (tmp_path / "keys" / "t.key").exists()  # the doctor made no new key


async def test_a_missing_database_is_not_created_and_its_fix_is_migrate(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    [problem] = bad(await diagnose(settings, []))
    assert "no database at" in problem and "tandem migrate" in problem
    assert not (tmp_path / "t.db").exists()  # nothing was made


async def test_an_older_revision_says_to_migrate(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with database_at(settings.database_url, "0011"):
        pass
    [problem] = bad(await diagnose(settings, []))
    assert f"at revision 0011, this Tandem needs {head()}: run `tandem migrate`" in problem


async def test_an_unreachable_postgresql_is_named_without_its_password(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://tandem:hunter2@127.0.0.1:{port}/tandem"
    [problem] = bad(await diagnose(settings_for(tmp_path, database_url=url), []))
    assert f"cannot reach postgresql://tandem:***@127.0.0.1:{port}/tandem" in problem
    assert "hunter2" not in problem and "check DATABASE_URL" in problem


async def test_a_held_metrics_port_and_webhook_mistakes_are_named(
    tmp_path: Path, held_port: int
) -> None:
    settings = settings_for(
        tmp_path,
        tandem_metrics_port=held_port,
        tandem_metrics_listen="127.0.0.1",
        telegram_webhook_url="http://tandem.example.org/telegram",
        telegram_webhook_listen="127.0.0.1",
        telegram_webhook_port=held_port,
    )
    await keyed(settings)
    problems = bad(await diagnose(settings, []))
    assert len(problems) == 3, problems
    assert "is not an https:// address" in problems[0]
    assert problems[1].startswith("webhook port") and "TELEGRAM_WEBHOOK_PORT" in problems[1]
    assert problems[2].startswith("metrics port") and "TANDEM_METRICS_PORT" in problems[2]
    assert all(f"127.0.0.1:{held_port} is in use" in p for p in problems[1:])


def doctor(cwd: Path, **env: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout


def test_the_exit_code_is_0_when_all_is_well_and_1_otherwise(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    code, out = doctor(tmp_path, DATABASE_URL=url)
    assert code == 1 and "run `tandem migrate`" in out
    migrated = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        timeout=60,
    )
    assert migrated.returncode == 0
    code, out = doctor(tmp_path, DATABASE_URL=url)
    assert code == 0 and out.endswith("All is well.\n"), out


def test_a_setting_the_start_would_refuse_is_a_finding_too(tmp_path: Path) -> None:
    code, out = doctor(
        tmp_path,
        DATABASE_URL="postgresql://tandem@127.0.0.1/tandem",
        TELEGRAM_WEBHOOK_URL="https://tandem.example.org/telegram",
    )
    assert code == 1
    assert out.startswith("BAD  settings: Invalid setting TELEGRAM_WEBHOOK_SECRET")
