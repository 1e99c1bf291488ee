"""`tandem doctor`: checks the set-up without changing anything, and says what is wrong and the fix."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.crypto import DataKeyError
from bot.datakey import find_keys, key_warnings, opens
from bot.migrate import current, head
from bot.settings import Settings
from bot.store import make_engine, sqlite_path

DATABASE_TIMEOUT = 15.0
# The ports Telegram sends webhook calls to (core.telegram.org/bots/api#setwebhook).
WEBHOOK_PORTS = (443, 80, 88, 8443)


@dataclass(frozen=True)
class Finding:
    """One thing checked: what, whether it is well, and in plain words what was found (and the fix)."""

    what: str
    ok: bool
    says: str


# A platform's token check, from the adapters (the core never imports a platform).
TokenCheck = Callable[[Settings], Awaitable[Finding]]


async def diagnose(settings: Settings, token_checks: Sequence[TokenCheck]) -> list[Finding]:
    findings = [await check(settings) for check in token_checks]
    if not token_checks:
        findings.append(
            Finding(
                "tokens",
                True,
                "no TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN: `tandem run` starts the console",
            )
        )
    findings += await _database_and_key(settings)
    findings += _webhook(settings)
    if settings.tandem_metrics_port is not None:
        findings.append(
            _port_free(
                "metrics port",
                settings.tandem_metrics_listen,
                settings.tandem_metrics_port,
                "TANDEM_METRICS_PORT",
            )
        )
    return findings


def report(findings: Sequence[Finding]) -> str:
    lines = [f"{'ok ' if f.ok else 'BAD'}  {f.what}: {f.says}" for f in findings]
    bad = sum(not f.ok for f in findings)
    lines.append("All is well." if not bad else f"{bad} problem(s): each says its fix.")
    return "\n".join(lines)


def _where(database_url: str) -> str:
    """The database named without its password."""
    return make_url(database_url).render_as_string(hide_password=True)


async def _database_and_key(settings: Settings) -> list[Finding]:
    findings: list[Finding] = []
    try:
        source = find_keys(settings)
    except DataKeyError as err:
        findings.append(Finding("data key", False, f"{err}: fix it or restore it from a backup"))
        source = None
    if source is not None:
        # key_warnings also logs each warning for the start; here they are findings instead.
        logging.getLogger("bot.datakey").disabled = True
        try:
            for warning in key_warnings(settings):
                findings.append(Finding("data key", False, warning))
        finally:
            logging.getLogger("bot.datakey").disabled = False
    database = sqlite_path(settings.database_url)
    if database is not None and not database.exists():
        # Connecting would create the file; the doctor writes nothing.
        findings.append(
            Finding(
                "database",
                False,
                f"no database at {database} yet: run `tandem migrate` (or start `tandem run`), "
                "or set DATABASE_URL to the one you meant",
            )
        )
        if source is not None and source.keyring is None:
            findings.append(_no_key_yet(source.file))
        return findings
    engine = make_engine(settings.database_url)
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            at = await current(engine)
            proved = await opens(engine, None if source is None else source.keyring)
    except Exception as err:  # any driver's error (or none in time): unreachable
        why = "no answer" if isinstance(err, TimeoutError) else type(err).__name__
        findings.append(
            Finding(
                "database",
                False,
                f"cannot reach {_where(settings.database_url)} ({why}): check DATABASE_URL, "
                "that the server runs and that this host may connect",
            )
        )
        return findings
    finally:
        await engine.dispose()
    findings.append(_revision(at))
    if source is None:
        return findings
    where = "TANDEM_DATA_KEY" if source.from_env else f"the key file {source.file}"
    if source.keyring is None and proved is None:
        findings.append(_no_key_yet(source.file))
    elif source.keyring is None:
        findings.append(
            Finding(
                "data key",
                False,
                f"this database's notes are encrypted, but there is no key: set "
                f"TANDEM_DATA_KEY or put back {source.file} from your backup",
            )
        )
    elif proved is False:
        findings.append(
            Finding(
                "data key",
                False,
                f"{where} does not open this database (a wrong or changed key): put back the "
                "key it was sealed with, from your backup",
            )
        )
    else:
        opened = "opens this database" if proved else "found (the database has no sealed data yet)"
        findings.append(Finding("data key", True, f"{where} {opened}"))
    return findings


def _no_key_yet(file: Path) -> Finding:
    return Finding(
        "data key",
        True,
        f"none yet: the first start makes {file}; back it up apart from the database",
    )


def _revision(at: str | None) -> Finding:
    newest = head()
    if at == newest:
        return Finding("database", True, f"reachable, up to date (revision {newest})")
    if at is None:
        says = f"reachable but never migrated: run `tandem migrate` (to revision {newest})"
    elif at > newest:
        says = (
            f"at revision {at}, newer than this Tandem knows ({newest}): install the Tandem "
            "that migrated it"
        )
    else:
        says = f"at revision {at}, this Tandem needs {newest}: run `tandem migrate`"
    return Finding("database", False, says)


def _webhook(settings: Settings) -> list[Finding]:
    url = settings.telegram_webhook_url
    if url is None:
        return []
    findings = []
    parts = urlsplit(url)
    port = parts.port or 443
    if parts.scheme != "https" or not parts.hostname:
        findings.append(
            Finding(
                "webhook URL",
                False,
                f"{url} is not an https:// address: Telegram only calls HTTPS; e.g. "
                "TELEGRAM_WEBHOOK_URL=https://tandem.example.org/telegram",
            )
        )
    elif port not in WEBHOOK_PORTS:
        findings.append(
            Finding(
                "webhook URL",
                False,
                f"{url} uses port {port}, and Telegram only calls 443, 80, 88 or 8443: put the "
                "reverse proxy on one of them",
            )
        )
    else:
        findings.append(Finding("webhook URL", True, url))
    if settings.telegram_webhook_secret is not None:
        findings.append(Finding("webhook secret", True, "set"))
    else:
        # On PostgreSQL the settings already refuse this; on SQLite one process makes its own.
        findings.append(
            Finding("webhook secret", True, "none: each start makes a random one (one instance)")
        )
    findings.append(
        _port_free(
            "webhook port",
            settings.telegram_webhook_listen,
            settings.telegram_webhook_port,
            "TELEGRAM_WEBHOOK_PORT",
        )
    )
    return findings


def _port_free(what: str, host: str, port: int, setting: str) -> Finding:
    """Binds the port for a moment, as the server would (with SO_REUSEADDR, as aiohttp does)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as err:
        held = err.errno == errno.EADDRINUSE
        why = "in use (a Tandem already running, or another program)" if held else err.strerror
        return Finding(
            what,
            False,
            f"{host}:{port} is {why}: stop what holds it or set {setting} to a free port",
        )
    return Finding(what, True, f"{host}:{port} is free")
