"""Where the files that ship beside the code are: content/, migrations/ and alembic.ini."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def shipped(name: str) -> Path:
    """`name` inside the installed wheel (mapped into bot/_shipped/ by pyproject.toml), else in
    the checkout this runs from: an editable install and the tests read the repository's own."""
    packaged = resources.files("bot").joinpath("_shipped", name)
    if packaged.is_dir() or packaged.is_file():
        return Path(str(packaged))
    return CHECKOUT / name
