"""/promise and /promises, and the buttons a promise's follow-up carries."""

from __future__ import annotations

from bot.command import Command, Option, Who
from bot.promises.keeping import cmd_promise, cmd_promises

COMMANDS = (
    Command(
        "promise",
        "Make a small promise; I'll ask on the day how it went",
        cmd_promise,
        "The two of you",
        "/promise <what> [by <day>]",
        Who.PARTNER,
        (
            Option(
                "what",
                "What you'll do, and by when if you like: plan Saturday's walk by fri",
                required=True,
                max_length=240,
            ),
        ),
    ),
    Command(
        "promises",
        "Your open promises, each with its buttons",
        cmd_promises,
        "The two of you",
        who=Who.PARTNER,
    ),
)
