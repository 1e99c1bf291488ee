"""Long commands (`tandem keys rotate`, `tandem migrate`, `tandem content check`) show how far
they are and the time left on a terminal, and nothing in a pipe."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from alembic.script import ScriptDirectory

from bot.content import Library
from tests.test_crypto import settings, sqlite, start, write_note_and_promise


async def a_couple_with_notes(tmp_path: Path, library: Library) -> dict[str, str]:
    """A database where Alice and Bob each have a key of their own (two rows to rewrap)."""
    (tmp_path / "data").mkdir()
    key = tmp_path / "tandem.key"
    tandem, messenger = await start(settings(sqlite(tmp_path), tandem_key_file=key), library)
    await write_note_and_promise(tandem, messenger)
    await tandem.store.close()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "DATABASE_URL"))}
    return {**clean, "DATABASE_URL": sqlite(tmp_path), "TANDEM_KEY_FILE": str(key)}


def read_all(fd: int, run: subprocess.Popen[str]) -> str:
    """Everything the program writes to the terminal until it has exited and nothing is left.
    The caller keeps the terminal's other end open meanwhile: once it closes, Linux may drop
    what is still buffered (a hang-up), and under load that was the whole progress line."""
    chunks = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            chunks.append(chunk)
        elif run.poll() is not None:
            break
    return b"".join(chunks).decode(errors="replace")


def test_rotate_in_a_pipe_says_only_the_result(tmp_path: Path, library: Library) -> None:
    env = asyncio.run(a_couple_with_notes(tmp_path, library))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "keys", "rotate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Re-encrypted 2 member key(s)" in done.stdout
    assert "rows" not in done.stderr and "\r" not in done.stderr  # no bar in a pipe or a log


def in_a_terminal(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Runs `tandem <argv>` with stderr on a terminal 100 columns wide: (code, stdout, stderr)."""
    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        run = subprocess.Popen(
            [sys.executable, "-m", "bot", *argv],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
        )
        shown = read_all(main, run)
        out, _ = run.communicate(timeout=300)
    finally:
        os.close(terminal)
        os.close(main)
    return run.returncode, out, shown


def fresh_database(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "data").mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "DATABASE_URL"))}
    return {
        **clean,
        "DATABASE_URL": sqlite(tmp_path),
        "TANDEM_KEY_FILE": str(tmp_path / "tandem.key"),
    }


def test_migrate_in_a_terminal_counts_the_revisions_and_in_a_pipe_says_only_the_result(
    tmp_path: Path,
) -> None:
    from bot.migrate import alembic_config

    every = len(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
    env = fresh_database(tmp_path)
    code, _, shown = in_a_terminal(["migrate"], tmp_path, env)
    assert code == 0, shown
    assert f"migrating: {every} of {every} revisions" in shown and " left" in shown, shown
    again = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0 and "up to date" in again.stdout
    assert again.stderr.strip() == "" or "revisions" not in again.stderr, again.stderr


def test_content_check_in_a_terminal_shows_prompts_compared_of_all(tmp_path: Path) -> None:
    from bot.content import default_content_dir, load_content

    prompts = len(load_content(default_content_dir()).prompts)
    env = fresh_database(tmp_path)
    code, out, shown = in_a_terminal(["content", "check"], tmp_path, env)
    assert code == 0, shown
    assert f"comparing: {prompts} of {prompts} prompts" in shown, shown
    assert "Near-duplicate pairs" in out
    piped = subprocess.run(
        [sys.executable, "-m", "bot", "content", "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert piped.returncode == 0 and "prompts" not in piped.stderr, piped.stderr


def test_rotate_in_a_terminal_shows_rows_of_all_and_time_left(
    tmp_path: Path, library: Library
) -> None:
    env = asyncio.run(a_couple_with_notes(tmp_path, library))
    code, out, shown = in_a_terminal(["keys", "rotate"], tmp_path, env)
    assert code == 0, shown
    assert "Re-encrypted 2 member key(s)" in out
    assert "re-encrypting: 2 of 2 rows" in shown and " left" in shown, shown
