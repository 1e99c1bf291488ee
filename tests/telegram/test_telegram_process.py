"""End to end: `tandem run` as its own process against the fake Bot API, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.content import default_content_dir, load_content
from tests.telegram.fake_api import DM, SECRET_PART, TOKEN, FakeBotApi

ROOT = Path(__file__).resolve().parents[2]


async def test_tandem_run_welcomes_and_stops_cleanly_on_sigterm(
    api: FakeBotApi, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=api.base_url,
        DATABASE_URL=f"sqlite:///{tmp_path}/tandem.db",
        LOG_LEVEL="DEBUG",  # the noisiest setting is where a token or a text would slip out
        PYTHONPATH=str(ROOT),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,  # away from any developer's .env
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await api.wait_for(lambda: api.of("getUpdates"), within=20)
        api.say("/start", chat=DM)
        [welcome] = await api.replies(1, chat_id=DM.id)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 5)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    # As the process read it, then the set-up's first question.
    assert welcome.text.startswith(
        load_content(default_content_dir()).texts.welcome_private.strip()
    )
    assert process.returncode == 0
    logs = stderr.decode()
    assert "telegram: connected as @TandemTestBot" in logs
    assert SECRET_PART not in logs
    assert "Hi, I'm Tandem" not in logs
