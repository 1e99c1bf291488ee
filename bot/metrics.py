"""Health and metrics over HTTP (TANDEM_METRICS_PORT): /healthz, and /metrics for Prometheus."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.delivery import HEARTBEAT
from bot.delivery.jobs import DispatchReport

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OUTCOMES = ("sent", "missed", "retrying", "failed", "deactivated", "moved")
# Three beats missed: the other instances are about to take this one's claims over.
STALE = 3 * HEARTBEAT.total_seconds()


@dataclass
class Health:
    """What /healthz asks of the running app: each answer a callable, read at request time."""

    database: Callable[[], Awaitable[bool]]
    platforms: Callable[[], dict[str, bool]]
    heartbeat_age: Callable[[], float | None]
    instances: Callable[[], int] = lambda: 0
    rate_limit_waits: Callable[[], dict[str, int]] = dict
    pollers: Callable[[], dict[str, bool]] = dict


class _Live(Collector):
    """Values read from the app at scrape time rather than counted as they happen."""

    def __init__(self, health: Health) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        live = GaugeMetricFamily("tandem_live_instances", "Instances with a fresh heartbeat")
        live.add_metric([], self.health.instances())
        yield live
        up = GaugeMetricFamily("tandem_platform_up", "1 while the platform is connected", labels=["platform"])  # fmt: skip
        for platform, is_up in self.health.platforms().items():
            up.add_metric([platform], int(is_up))
        yield up
        polling = GaugeMetricFamily(
            "tandem_poller_running", "1 while this instance fetches updates", labels=["platform"]
        )
        for platform, running in self.health.pollers().items():
            polling.add_metric([platform], int(running))
        yield polling
        waits = CounterMetricFamily(
            "tandem_rate_limit_waits",
            "Sends held back because the platform asked to slow down (429)",
            labels=["platform"],
        )
        for platform, count in self.health.rate_limit_waits().items():
            waits.add_metric([platform], count)
        yield waits
        age = self.health.heartbeat_age()
        beat = GaugeMetricFamily("tandem_heartbeat_age_seconds", "Since this instance last beat")
        beat.add_metric([], -1 if age is None else age)
        yield beat


@dataclass
class Metrics:
    """The counters and histograms, in a registry of their own (not the process-wide one)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.deliveries = Counter(
            "tandem_deliveries",
            "Scheduled sends claimed, and each one's outcome",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("claimed", *OUTCOMES):
            self.deliveries.labels(outcome)
        self.lateness = Histogram(
            "tandem_delivery_lateness_seconds",
            "How long after it was due a scheduled message was sent",
            buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 10800),
            registry=self.registry,
        )
        self.reply = Histogram(
            "tandem_command_reply_seconds",
            "From a message or tap coming in to Tandem's answer being ready",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
            registry=self.registry,
        )

    def dispatched(self, report: DispatchReport) -> None:
        counts = {outcome: getattr(report, outcome) for outcome in OUTCOMES}
        for outcome, count in counts.items():
            if count:
                self.deliveries.labels(outcome).inc(count)
        claimed = report.sent + report.retrying + report.failed
        if claimed:
            self.deliveries.labels("claimed").inc(claimed)
        for seconds in report.lateness:
            self.lateness.observe(max(0.0, seconds))

    def watch(self, health: Health) -> None:
        self.registry.register(_Live(health))


async def healthz(health: Health) -> tuple[bool, dict[str, Any]]:
    """(healthy, why): the database answers, every platform is connected, the heartbeat is fresh."""
    try:
        database = await asyncio.wait_for(health.database(), 3.0)
    except Exception:
        database = False
    platforms = health.platforms()
    age = health.heartbeat_age()
    fresh = age is not None and age < STALE
    report = {
        "database": database,
        "platforms": platforms,
        "heartbeat_age_seconds": None if age is None else round(age, 1),
    }
    return database and all(platforms.values()) and fresh, report


class PortInUse(Exception):
    """TANDEM_METRICS_PORT is taken by another program; the message says what to do."""


class Server:
    """The small HTTP server; started and stopped with the app."""

    def __init__(self, metrics: Metrics, health: Health, host: str, port: int) -> None:
        self.metrics, self.health, self.host, self.port = metrics, health, host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as err:
            await self.stop()
            raise PortInUse(
                f"cannot serve health and metrics on {self.host}:{self.port} ({err.strerror}): "
                "another program listens there. Choose a free port in TANDEM_METRICS_PORT, "
                "or leave it empty for no metrics server."
            ) from None
        log.info("health and metrics on http://%s:%d/healthz and /metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        ok, report = await healthz(self.health)
        return web.json_response({"ok": ok, **report}, status=200 if ok else 503, dumps=json.dumps)

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
