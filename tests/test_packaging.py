"""The built wheel stands alone: installed into a fresh virtualenv, `tandem console` runs from any
folder, with the content, migrations and alembic.ini it carries."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "alembic.ini")
TREES = ("bot", "adapters", "content", "migrations")


def run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=120, **kwargs
    )  # type: ignore[call-overload]
    assert result.returncode == 0, result.stdout + result.stderr
    return result  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the checkout (the build writes beside its sources), with no network:
    the dev tools' setuptools, no build isolation."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        shutil.copy(ROOT / name, src / name)
    for tree in TREES:
        shutil.copytree(ROOT / tree, src / tree, ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index",
         "--no-build-isolation", "-w", dist, src])  # fmt: skip
    [built] = dist.glob("tandem-*.whl")
    return built


def test_the_wheel_carries_every_module_content_file_and_migration(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    code = {str(p.relative_to(ROOT)) for t in ("bot", "adapters") for p in (ROOT / t).rglob("*.py")}
    missing = sorted(code - names)
    assert not missing, f"add their packages to [tool.setuptools] packages: {missing}"
    shipped = {
        "bot/_shipped/" + str(p.relative_to(ROOT))
        for t in ("content", "migrations")
        for p in (ROOT / t).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert shipped - names == set()
    assert "bot/_shipped/alembic.ini" in names
    assert "tandem-0.1.0.dist-info/licenses/LICENSE" in names
    assert not {n for n in names if n.startswith(("tests/", "bot/_shipped/tests"))}
    metadata = zipfile.ZipFile(wheel).read("tandem-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata


def test_the_installed_wheel_runs_the_console_from_another_folder(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    # Its dependencies come from the dev environment's site-packages (a path, so not its
    # editable Tandem); Tandem itself only from the wheel.
    deps = sysconfig.get_paths()["purelib"]
    Path(site.stdout.strip(), "deps.pth").write_text(deps + "\n")
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
         "--no-index", wheel])  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    where = run(
        [python, "-c", "import bot.shipped as s; print(s.shipped('content'))"],
        cwd=elsewhere,
        env=env,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    result = run(
        [venv / "bin" / "tandem", "console"],
        input="/start\n/remind 8pm\n/tip\n/quit\n",
        cwd=elsewhere,
        env=env,
    )
    assert "not therapy" in result.stdout
    assert "Daily prompt set for 20:00" in result.stdout
    assert (elsewhere / "data" / "tandem.db").exists()  # migrated by the wheel's own migrations
