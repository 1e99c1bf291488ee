"""The Dockerfile, .dockerignore, compose.yaml and the systemd unit: their shape (no Docker here),
and the container's command run outside Docker with the image's environment."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bot.crypto import new_key

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = (ROOT / "compose.yaml").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n\s*",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


FINAL = instructions(DOCKERFILE)
FINAL = FINAL[max(i for i, (word, _) in enumerate(FINAL) if word == "FROM") :]  # the last stage


def image_env() -> dict[str, str]:
    env = {}
    for word, rest in FINAL:
        if word == "ENV":
            name, _, value = rest.partition("=")
            env[name] = value
    return env


def test_the_image_is_slim_runs_as_a_user_and_bakes_in_no_key() -> None:
    assert FINAL[0] == ("FROM", "python:3.12-slim")
    [user] = [rest for word, rest in FINAL if word == "USER"]
    assert user not in ("root", "0", "0:0")
    assert "TANDEM_DATA_KEY" not in image_env()
    # the key is mounted at run time, from outside the image's build context
    assert image_env()["TANDEM_KEY_FILE"].startswith("/run/secrets/")
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for secret in (".env", "*.key", "data/", "secrets/", "*.db", ".git"):
        assert secret in ignored, f".dockerignore lets {secret} into the build"


def test_sqlite_is_on_a_volume_and_the_healthcheck_asks_healthz_on_the_metrics_port() -> None:
    assert ("VOLUME", "/data") in FINAL
    assert image_env()["DATABASE_URL"] == "sqlite:////data/tandem.db"
    [check] = [rest for word, rest in FINAL if word == "HEALTHCHECK"]
    assert "/healthz" in check and "TANDEM_METRICS_PORT" in check
    assert ("EXPOSE", image_env()["TANDEM_METRICS_PORT"]) in FINAL


def services(text: str) -> dict[str, list[str]]:
    """compose.yaml's services (commented ones too, their '#  ' taken off) -> their lines."""
    found: dict[str, list[str]] = {}
    name = None
    in_services = False
    for raw in text.splitlines():
        line = re.sub(r"^  # ?", "  ", raw) if raw.startswith("  #") else raw
        if re.match(r"^\S", line):
            in_services = line.startswith("services:")
            name = None
        elif in_services and (m := re.match(r"^  ([a-z0-9-]+):\s*$", line)):
            name = m[1]
            found[name] = []
        elif name is not None:
            found[name].append(line.strip())
    return found


def test_compose_runs_postgres_and_tandem_with_the_key_as_a_secret_and_shows_a_second() -> None:
    assert "\t" not in COMPOSE  # YAML refuses tabs
    found = services(COMPOSE)
    assert set(found) == {"postgres", "tandem", "tandem-2"}
    assert "\n  # tandem-2:\n" in COMPOSE  # the second is there to uncomment, not running
    for name in ("tandem", "tandem-2"):
        lines = found[name]
        assert any(line.startswith("DATABASE_URL: postgresql://") for line in lines)
        assert "TANDEM_KEY_FILE: /run/secrets/tandem_key" in lines
        assert "- tandem_key" in lines
        assert not any("TANDEM_DATA_KEY" in line for line in lines)
    assert any(
        "TELEGRAM_WEBHOOK_SECRET: ${TELEGRAM_WEBHOOK_SECRET:?" in x for x in found["tandem-2"]
    )
    assert re.search(r"^secrets:\n  tandem_key:\n    file: \./secrets/tandem\.key$", COMPOSE, re.M)
    assert (
        "TELEGRAM_WEBHOOK_SECRET" in COMPOSE
        and "required for webhook mode on PostgreSQL" in COMPOSE
    )


def test_the_systemd_unit_runs_tandem_as_its_own_user() -> None:
    unit = (ROOT / "deploy" / "tandem.service").read_text()
    sections = re.findall(r"^\[(\w+)\]$", unit, re.M)
    assert sections == ["Unit", "Service", "Install"]
    assert re.search(r"^User=tandem$", unit, re.M)
    assert re.search(r"^ExecStart=\S+/tandem run$", unit, re.M)
    assert re.search(r"^EnvironmentFile=/etc/tandem/tandem\.env$", unit, re.M)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_containers_command_runs_outside_docker_with_the_images_environment(
    tmp_path: Path,
) -> None:
    """`tandem run` with the image's settings, /data and the mounted secret made folders here:
    with no tokens it is the console; its /healthz answers the HEALTHCHECK's own command."""
    env = {
        name: value.replace("/data/", f"{tmp_path}/data/").replace(
            "/run/secrets/", f"{tmp_path}/secrets/"
        )
        for name, value in image_env().items()
    }
    env["TANDEM_METRICS_PORT"] = str(free_port())
    (tmp_path / "data").mkdir()
    (tmp_path / "secrets").mkdir()
    key = tmp_path / "secrets" / "tandem_key"
    key.write_text(new_key() + "\n")  # as compose.yaml's comment makes it
    key.chmod(0o600)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    [cmd] = [rest for word, rest in FINAL if word == "CMD"]
    argv = json.loads(cmd)
    assert argv == ["tandem", "run"]
    run = subprocess.Popen(
        [sys.executable, "-m", "bot", *argv[1:]],
        cwd=tmp_path,
        env={**base, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        [check] = [rest for word, rest in FINAL if word == "HEALTHCHECK"]
        probe = shlex.split(check.partition("CMD ")[2])
        assert probe[0] == "python"
        url = f"http://127.0.0.1:{env['TANDEM_METRICS_PORT']}/healthz"
        deadline = time.monotonic() + 30
        healthy = None
        while time.monotonic() < deadline and run.poll() is None:
            try:
                urllib.request.urlopen(url, timeout=2)
            except OSError:
                time.sleep(0.2)
                continue
            healthy = subprocess.run(
                [sys.executable, *probe[1:]], env={**base, **env}, timeout=30
            ).returncode
            break
        out, err = run.communicate("/quit\n", timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert healthy == 0, err
    assert run.returncode == 0, err
    assert "Traceback" not in err and "can be read by other users" not in err
    assert (tmp_path / "data" / "tandem.db").exists()
    assert "tandem" in out.lower()


def test_a_container_started_without_its_key_says_so_plainly_and_writes_nothing(
    tmp_path: Path,
) -> None:
    """The secret was not mounted, and its folder cannot be made (as /run/secrets for the
    image's user; here a folder under /proc, which stops root as well): one plain line with the
    fix, no traceback, no key made anywhere else."""
    secret = "/proc/tandem-no-secret-here/tandem_key"
    env = {
        name: value.replace("/data/", f"{tmp_path}/data/").replace(
            "/run/secrets/tandem_key", secret
        )
        for name, value in image_env().items()
    }
    assert env["TANDEM_KEY_FILE"] == secret
    env.pop("TANDEM_METRICS_PORT")
    (tmp_path / "data").mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    run = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={**base, **env},
        input="/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    [line] = [x for x in run.stderr.splitlines() if x.startswith("tandem:")]
    assert f"there is no data key, and none could be made at {secret}" in line
    assert "TANDEM_DATA_KEY" in line and "Nothing was changed." in line
