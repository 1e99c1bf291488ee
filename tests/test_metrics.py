"""Health and metrics (TANDEM_METRICS_PORT), JSON logs, and a busy tick that is no warning."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client.parser import text_string_to_metric_families

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.logs import BusyTick, setup_logging
from bot.settings import Settings
from tests.fakes import FixedClock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_count_a_scheduled_prompt_and_the_replies_and_healthz_says_why(
    tmp_path: Path,
) -> None:
    port = free_port()
    clock = FixedClock("2026-11-21T12:00:00+00:00")
    console = ConsoleAdapter(out=io.StringIO(), export_dir=tmp_path)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/app.db",
        tandem_metrics_port=port,
        tandem_metrics_listen="127.0.0.1",
    )
    app = App(settings, [console], clock=clock)
    await app.start()
    base = f"http://127.0.0.1:{port}"
    try:
        await console.feed("/start")
        await console.feed("/remind 13:00")
        clock.set("2026-11-21T13:02:00+00:00")  # two minutes late
        await app._tick()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/metrics") as response:
                assert response.status == 200
                found = samples(await response.text())
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
                assert await response.json() == {
                    "ok": True,
                    "database": True,
                    "platforms": {"console": True},
                    "heartbeat_age_seconds": pytest.approx(0, abs=5),
                }
            app.last_beat = time.monotonic() - 600  # the heartbeat stopped ten minutes ago
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 503
                assert (await response.json())["heartbeat_age_seconds"] >= 600
    finally:
        await app.stop()
    assert found[("tandem_deliveries_total", (("outcome", "sent"),))] == 1
    assert found[("tandem_deliveries_total", (("outcome", "claimed"),))] == 1
    assert found[("tandem_deliveries_total", (("outcome", "failed"),))] == 0
    lateness = found[("tandem_delivery_lateness_seconds_bucket", (("le", "120.0"),))]
    early = found[("tandem_delivery_lateness_seconds_bucket", (("le", "60.0"),))]
    assert (early, lateness) == (0, 1)  # sent 120 s after it was due
    assert found[("tandem_command_reply_seconds_count", ())] == 2
    assert found[("tandem_live_instances", ())] == 1
    assert found[("tandem_platform_up", (("platform", "console"),))] == 1
    # The server went with the app: nothing listens on the port any more.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def run_tandem(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input="/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{cwd}/t.db", **env},
    )


def test_a_metrics_port_in_use_stops_the_start_saying_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_tandem(
            ["console"],
            tmp_path,
            TANDEM_METRICS_PORT=str(port),
            TANDEM_METRICS_LISTEN="127.0.0.1",
        )
    assert result.returncode == 2
    assert "another program listens there" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_logs_are_one_object_a_line(tmp_path: Path) -> None:
    result = run_tandem(["migrate"], tmp_path, TANDEM_LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    [created] = [entry for entry in lines if "created the key file" in entry["message"]]
    assert created["level"] == "INFO" and created["logger"] == "bot.datakey"
    assert "time" in created


async def test_a_tick_that_finds_the_last_still_running_is_not_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """APScheduler, as the app runs it (one instance, coalesced), with a job slower than its
    interval: it skips ticks. Without the filter each skip is a warning; with it, none."""

    async def run_slow_job() -> list[logging.LogRecord]:
        caplog.clear()
        scheduler = AsyncIOScheduler()
        scheduler.add_job(
            asyncio.sleep, IntervalTrigger(seconds=0.1), args=[0.45], max_instances=1, coalesce=True
        )
        scheduler.start()
        await asyncio.sleep(1.0)
        scheduler.pause()
        await asyncio.sleep(0.6)  # the run in flight ends, rather than being cancelled
        scheduler.shutdown(wait=False)
        return [r for r in caplog.records if r.name.startswith("apscheduler")]

    caplog.set_level(logging.WARNING, logger="apscheduler")
    # Another test in this process may have set logging up already: the control runs without.
    for name in ("apscheduler.scheduler", "apscheduler.executors.default"):
        for found in [f for f in logging.getLogger(name).filters if isinstance(f, BusyTick)]:
            logging.getLogger(name).removeFilter(found)
    before = await run_slow_job()
    assert any("maximum number of running instances" in r.getMessage() for r in before)
    from bot.logs import QUIET

    levels = {name: logging.getLogger(name).level for name in QUIET}
    try:
        setup_logging("INFO")
        assert await run_slow_job() == []
    finally:  # setup_logging quiets httpx and others for the whole process: put them back
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
