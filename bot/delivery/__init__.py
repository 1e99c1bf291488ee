"""The delivery engine, one job a module; the rest of Tandem imports it from here."""

from __future__ import annotations

from datetime import timedelta

import bot.delivery.leases as _leases
from bot.delivery.compose import Composer, render
from bot.delivery.dispatcher import CONCURRENCY, Dispatcher
from bot.delivery.jobs import DispatchReport, Job, Partner, Target
from bot.delivery.leases import OPEN, OUT
from bot.delivery.planner import (
    EVERY_DAY,
    NextAsk,
    backoff,
    checkin_targets,
    prompt_targets,
    side_day,
    weekly_targets,
)

__all__ = [
    "CONCURRENCY",
    "EVERY_DAY",
    "HEARTBEAT",
    "LEASE",
    "OPEN",
    "OUT",
    "Composer",
    "DispatchReport",
    "Dispatcher",
    "Job",
    "NextAsk",
    "Partner",
    "Target",
    "backoff",
    "checkin_targets",
    "prompt_targets",
    "render",
    "side_day",
    "weekly_targets",
]


def __getattr__(name: str) -> timedelta:
    # LEASE and HEARTBEAT are looked up in `leases` when imported from here, not copied when
    # this package loads: a start that shortens them there first (tests/fleet_run.py) reaches
    # every module that imports them later (bot.app, bot.service). Set them on `leases`.
    if name == "LEASE":
        return _leases.LEASE
    if name == "HEARTBEAT":
        return _leases.HEARTBEAT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
