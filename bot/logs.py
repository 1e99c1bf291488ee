"""Logging: plain lines or one JSON object a line, libraries kept quiet, frames without text."""

from __future__ import annotations

import logging
import traceback

from pythonjsonlogger.json import JsonFormatter

PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# httpx logs request URLs, and Telegram's contain the bot token; APScheduler logs every tick.
# aiosqlite and SQLAlchemy at DEBUG would print SQL parameters, and with them check-in notes.
QUIET = (
    "httpx",
    "httpcore",
    "apscheduler",
    "telegram",
    "discord",
    "aiosqlite",
    "sqlalchemy",
    "alembic",  # its start-up chatter; a failed migration still raises
)
# A tick that finds the last one still running (a burst takes longer than the interval) is
# normal: the job is coalesced, nothing is lost, and the next tick carries on.
BUSY_TICK = ("maximum number of running instances reached", "was missed by")


class BusyTick(logging.Filter):
    """Drops APScheduler's "skipped" and "missed" warnings about a tick still in flight."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(words in message for words in BUSY_TICK)


def setup_logging(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(PLAIN))
    logging.basicConfig(level=level, handlers=[handler], force=fmt == "json")
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    for name in ("apscheduler.scheduler", "apscheduler.executors.default"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, BusyTick) for f in logger.filters):
            logger.addFilter(BusyTick())


def frames(err: BaseException) -> str:
    """Where an error happened, frame by frame, without its message: an exception's text can
    quote SQL parameters, and with them a note."""
    return "".join(traceback.format_tb(err.__traceback__))
