"""Command line: `tandem run`, `console`, `migrate`, `doctor`, `content check`, `keys rotate`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Literal

from bot.app import Adapter, App, run_until_stopped
from bot.content import TOPICS, ContentError, Library, load_content
from bot.crypto import DataKeyError
from bot.datakey import find_keys
from bot.likeness import NEAR_DUPLICATE, near_duplicates
from bot.logs import setup_logging
from bot.metrics import PortInUse
from bot.paths.library import load_paths
from bot.ports import MovableClock
from bot.settings import Settings, SettingsError, load_settings
from bot.single import AlreadyRunning

log = logging.getLogger("tandem")


def _platform_adapters(settings: Settings) -> list[Adapter]:
    adapters: list[Adapter] = []
    if settings.telegram_bot_token is not None:
        from adapters.telegram_adapter import TelegramAdapter

        adapters.append(TelegramAdapter(settings))
    if settings.discord_bot_token is not None:
        from adapters.discord_adapter import DiscordAdapter

        adapters.append(DiscordAdapter(settings))
    return adapters


async def _run(settings: Settings, console_only: bool) -> None:
    adapters = [] if console_only else _platform_adapters(settings)
    if adapters:
        log.info("starting %s", ", ".join(a.platform for a in adapters))
        await run_until_stopped(App(settings, adapters))
        return
    from adapters.console import ConsoleAdapter

    if not console_only:
        log.info("no TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN set: starting the console adapter")
    console = ConsoleAdapter()
    # A clock /tomorrow can move on: a newcomer lives a week in a minute.
    app = App(settings, [console], clock=MovableClock())
    await run_until_stopped(app, until=console.run)


def _content_check(settings: Settings) -> int:
    library = load_content(settings.content_dir)
    counts = library.counts()
    width = max(len(t) for t in TOPICS)
    print("Prompts per topic")
    for topic in TOPICS:
        print(f"  {topic:<{width}}  {counts.get(topic, 0):>4}")
    tags: tuple[tuple[str, Literal["audience", "when", "home"]], ...] = (
        ("per side (for)", "audience"),
        ("per time of day (when)", "when"),
        ("per home", "home"),
    )
    for title, tag in tags:
        print(f"Prompts {title}")
        for value, count in library.tally(tag).items():
            print(f"  {value:<{width}}  {count:>4}")
    print(f"{'prompts':<{width + 2}}  {len(library.prompts):>4}")
    print(f"{'check-in questions':<{width + 2}}  {len(library.questions):>4}")
    print(f"{'first week':<{width + 2}}  {len(library.first_week):>4}")
    for label, count in library.safety.counts().items():
        print(f"{label:<{width + 2}}  {count:>4}")
    print(f"{'plain-word intents':<{width + 2}}  {len(library.talk.intents):>4}")
    from bot.progress import advance_to, progress

    with progress("comparing", len(library.prompts), unit="prompts") as bar:
        pairs = near_duplicates(library.prompts, on_done=lambda n, _: advance_to(bar, n))
    print(f"Near-duplicate pairs (word overlap >= {NEAR_DUPLICATE}): {len(pairs) or 'none'}")
    for score, first, second in pairs:
        print(f"  {score:.2f}  {first.id}  {second.id}")
    paths = load_paths(settings.content_dir)  # the guided paths, questions, guides and /repair
    print("Guided paths, daily questions and weekly guides")
    counted = sorted(paths.counts().items())
    wide = max(len(label) for label, _ in counted)
    for label, count in counted:
        print(f"  {label:<{wide}}  {count:>4}")
    _by_meaning(library)
    return 0


def _by_meaning(library: Library) -> None:
    """Near-duplicates by meaning, when `make content` has installed the model (it is heavy, so
    it is not part of `make test` or a plain install)."""
    from bot import content_semantic

    try:
        encoder = content_semantic.Encoder.load()
    except content_semantic.ModelMissing:
        print("Near-duplicates by meaning: not checked (`make content` installs the model)")
        return
    from bot.progress import advance_to, progress

    with progress("reading by meaning", None, unit="layers") as bar:
        pairs = content_semantic.semantic_pairs(
            library.prompts, encoder, on_layer=lambda n, of: advance_to(bar, n, of)
        )
    limit = content_semantic.SEMANTIC_NEAR
    print(f"Near-duplicates by meaning (cosine >= {limit}, a list to read): {len(pairs) or 'none'}")
    for score, first, second in pairs:
        print(f"  {score:.2f}  {first.id}  {second.id}")


async def _keys_rotate(settings: Settings) -> int:
    from bot.datakey import rotate, rotation_rows
    from bot.progress import advance_to, progress
    from bot.store import make_engine

    engine = make_engine(settings.database_url)
    try:
        with progress("re-encrypting", await rotation_rows(engine)) as bar:
            done = await rotate(engine, settings, on_batch=lambda n: advance_to(bar, n))
    finally:
        await engine.dispose()
    if done.new_env_key is not None:
        print(
            "TANDEM_DATA_KEY holds one key. Put a new one in front of it, keep the old one after a"
            " comma, then run `tandem keys rotate` again:\n"
            f"  TANDEM_DATA_KEY={done.new_env_key},<your current key>"
        )
        return 0
    print(f"Re-encrypted {done.resealed} member key(s) and value(s) with key {done.key_id}.")
    if find_keys(settings).from_env:
        print("Now set TANDEM_DATA_KEY to the first key alone (drop the old one after the comma).")
    return 0


async def _migrate(settings: Settings) -> int:
    from bot.ops import migrate

    done = await migrate(settings)
    if done.before == done.after:
        print(f"The database is up to date (revision {done.after}); nothing to do.")
    elif done.before is None:
        print(f"Made a new database at revision {done.after}.")
    else:
        print(f"Migrated the database from revision {done.before} to {done.after}.")
    return 0


async def _doctor(settings: Settings) -> int:
    from adapters.doctor_checks import token_checks
    from bot.doctor import diagnose, report

    findings = await diagnose(settings, token_checks(settings))
    print(report(findings))
    return 0 if all(f.ok for f in findings) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tandem", description="Tandem: a couple's daily trust companion."
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start every adapter with a token (the console if none)")
    sub.add_parser("console", help="chat with Tandem in this terminal")
    sub.add_parser("migrate", help="bring the database up to date, then exit")
    sub.add_parser("doctor", help="check the set-up and say what is wrong, with the fix")
    content = sub.add_parser("content", help="content tools")
    content.add_argument("action", choices=["check"], help="validate content/ and print counts")
    keys = sub.add_parser("keys", help="the data key that encrypts notes and promises")
    keys.add_argument("action", choices=["rotate"], help="re-encrypt everything with a new key")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as err:
        if args.command == "doctor":
            print(f"BAD  settings: {err}")
            return 1
        print(f"tandem: {err}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.tandem_log_format)
    try:
        if args.command == "content":
            return _content_check(settings)
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "doctor":
            return asyncio.run(_doctor(settings))
        if args.command == "keys":
            return asyncio.run(_keys_rotate(settings))
        if args.command in (None, "run", "console"):
            if args.command is None:
                parser.print_help()
                return 0
            # An invalid file stops the bot before anything starts.
            load_content(settings.content_dir)
            load_paths(settings.content_dir)
            asyncio.run(_run(settings, console_only=args.command == "console"))
            return 0
    except ContentError as err:
        print(f"tandem: invalid content: {err}", file=sys.stderr)
        return 2
    except (AlreadyRunning, DataKeyError, PortInUse) as err:
        print(f"tandem: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
