"""A crash must not pass: a pytest plugin that fails any test during which Tandem logs an ERROR.

The core turns every exception into the "Sorry" reply and logs "handling failed", so a test that
only checks that something is absent would pass on a crash. Any ERROR from `bot.*` or
`adapters.*` fails the test, unless it is marked `@pytest.mark.logs_errors("why")`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "logs_errors(why): the test expects Tandem to log an ERROR (without it, any ERROR fails the test)",
    )


class _Errors(logging.Handler):
    """Keeps every ERROR that Tandem's own code logs during one test."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def report(self) -> str:
        return "\n".join(f"{r.name}: {r.getMessage()}" for r in self.records)


_ERRORS = pytest.StashKey[_Errors]()
OURS = ("bot", "adapters")


@pytest.fixture(autouse=True)
def no_logged_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Collects Tandem's ERRORs for the test, and fails it at teardown for late ones."""
    handler = _Errors()
    request.node.stash[_ERRORS] = handler
    loggers = [logging.getLogger(name) for name in OURS]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    # Errors logged while fixtures tore down (an adapter stopping, say) count too.
    if handler.records and request.node.get_closest_marker("logs_errors") is None:
        pytest.fail(
            f"Tandem logged errors (mark the test logs_errors if expected):\n{handler.report()}"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fails the test itself (not only its teardown) when the test body logged an error."""
    result = yield
    handler = item.stash.get(_ERRORS, None)
    if handler and handler.records and item.get_closest_marker("logs_errors") is None:
        report = handler.report()
        handler.records.clear()  # reported here: the teardown check is for what comes later
        pytest.fail(f"Tandem logged errors (mark the test logs_errors if expected):\n{report}")
    return result
