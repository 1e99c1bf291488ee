"""`tandem run` with a short claim lease, for the kill -9 tests: FLEET_LEASE_SECONDS sets the
lease and a heartbeat four times as often (bot/delivery/leases.py's defaults are 90 s and 30 s,
which would make a test wait minutes for a killed instance's claims to expire)."""

from __future__ import annotations

import os
import sys
from datetime import timedelta

import bot.delivery.leases

lease = float(os.environ["FLEET_LEASE_SECONDS"])
bot.delivery.leases.LEASE = timedelta(seconds=lease)
bot.delivery.leases.HEARTBEAT = timedelta(seconds=lease / 4)  # before bot.app reads it

from bot.__main__ import main  # noqa: E402

sys.exit(main(["run"]))
