"""`make` asks for Python 3.11 or newer, and names an older one, or the old .venv it made."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OLD_PYTHON = """#!/bin/sh
# Stands in for Python 3.9: says so, fails a version check, and makes a venv of itself.
case "$1" in
  --version) echo "Python 3.9.18" ;;
  -m) mkdir -p "$3/bin" && cp "$0" "$3/bin/python" ;;
  *) exit 1 ;;
esac
"""

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _make(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").touch()
    old = tmp_path / "old-python"
    old.write_text(OLD_PYTHON)
    old.chmod(0o755)
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_older_python_is_named_with_what_to_do(tmp_path: Path) -> None:
    result = _make(tmp_path, "PYTHON=./old-python", "lint")
    assert result.returncode != 0
    assert "Tandem needs Python 3.11 or newer" in result.stdout + result.stderr
    assert "Python 3.9.18" in result.stdout + result.stderr
    assert not (tmp_path / ".venv").exists()  # nothing half-made


def test_a_venv_made_by_an_older_python_is_rebuilt(tmp_path: Path) -> None:
    venv_python = tmp_path / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text(OLD_PYTHON)
    venv_python.chmod(0o755)
    result = _make(tmp_path, f"PYTHON={sys.executable}", "python-version")
    assert result.returncode == 0, result.stderr
    assert "older than 3.11" in result.stdout and "rebuilding" in result.stdout
    assert not (tmp_path / ".venv").exists()
