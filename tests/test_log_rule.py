"""The log rule itself: an ERROR from Tandem fails a test, unless the test says it expects one."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

BODY = """
import logging
import pytest

def test_crash_hidden_behind_a_reply():
    logging.getLogger("bot.service").error("handling failed with RuntimeError")

@pytest.mark.logs_errors("the error is what this test is about")
def test_expected():
    logging.getLogger("bot.delivery").error("send raised RuntimeError; will retry")

def test_other_libraries_are_theirs():
    logging.getLogger("httpx").error("not ours")

def test_warnings_pass():
    logging.getLogger("adapters.telegram_adapter").warning("a warning only")

def test_adapter_error():
    logging.getLogger("adapters.discord_adapter").error("send failed")

@pytest.fixture
def stops_badly():
    yield
    logging.getLogger("adapters.telegram_adapter").error("stop failed")

def test_error_in_teardown(stops_badly):
    pass
"""


def test_an_error_logged_by_tandem_fails_the_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_rule=BODY)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parents[1]))
    # In a child process, so the inner tests' errors never reach this test's own rule.
    result = pytester.runpytest_subprocess("-p", "tests.log_rule", "-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=4, failed=2, errors=1)  # the teardown one passes, then errs
    result.stdout.fnmatch_lines_random(
        [
            "FAILED test_rule.py::test_crash_hidden_behind_a_reply - *",
            "FAILED test_rule.py::test_adapter_error - *",
            "ERROR test_rule.py::test_error_in_teardown - *",
            "PASSED test_rule.py::test_expected",
            "PASSED test_rule.py::test_other_libraries_are_theirs",
            "PASSED test_rule.py::test_warnings_pass",
        ]
    )
    result.stdout.fnmatch_lines(["*bot.service: handling failed with RuntimeError*"])
