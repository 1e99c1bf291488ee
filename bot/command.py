"""What a command is (its name, options, who may run it, its handler) and how a command line
splits; each room declares its own, and bot/registry.py gathers them into the one table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.context import Ctx
from bot.errors import UserError
from bot.messages import Outgoing

MAX_COMMAND = 300

NOT_A_PARTNER = (
    "Only this space's two partners can do that. If you're one of them, send /start here "
    "first. Nothing was changed."
)
# The same refusal in a private chat not linked to a couple: /start here would begin a second
# space (and a second set-up) rather than join the one the couple has.
NOT_LINKED = (
    "That's for a couple's partners, and this private chat isn't linked to a couple yet. If "
    "you have a shared chat with me, send /pair there and open its link: this chat is then "
    "yours. If not, /start here begins a space for this chat. Nothing was changed."
)


def not_a_partner(ctx: Ctx) -> UserError:
    """The refusal for someone who is not a partner here, in the words that fit where they are."""
    return UserError(NOT_LINKED if ctx.private and ctx.member is None else NOT_A_PARTNER)


Handler = Callable[[Ctx, str], Awaitable[list[Outgoing]]]


class Who(StrEnum):
    """Who may run a command."""

    ANYONE = "anyone"
    PARTNER = "partner"  # one of the space's two partners
    PARTNER_TO_CHANGE = "change"  # anyone may look; changing it (with arguments) takes a partner


class Kind(StrEnum):
    """An option's type, as a platform with typed options (Discord) should ask for it."""

    TEXT = "text"
    NUMBER = "number"
    TIME = "time"
    DAYS = "days"  # autocompleted: daily, weekdays, mon,wed,fri
    ZONE = "zone"  # autocompleted from the timezone database
    TOPICS = "topics"  # autocompleted from the topic list


@dataclass(frozen=True)
class Option:
    name: str
    description: str
    kind: Kind = Kind.TEXT
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (shown, as typed in the command line)
    max_length: int = 100
    min_value: int = 1
    max_value: int = 365
    template: str = "{}"  # how the value reads in the command line: "{} days"


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # at most 100 characters (Discord)
    handler: Handler
    section: str
    usage: str = ""  # "/remind <time> [days]" in /help; the bare name if empty
    who: Who = Who.ANYONE
    options: tuple[Option, ...] = ()
    open_args: tuple[str, ...] = ()  # arguments anyone may use ("/forget me": your own data)

    def line(self, values: Sequence[object | None]) -> str:
        """The command line a typed-options platform builds: ("20:30", "weekdays") -> "/remind 20:30 weekdays"."""
        words = [
            opt.template.format(value).strip()
            for opt, value in zip(self.options, values, strict=False)
            if value is not None and str(value).strip()
        ]
        return " ".join([f"/{self.name}", *[w for w in words if w]])

    def allows(self, args: str, is_partner: bool) -> bool:
        # Only the two partners: a server's moderators get no power over a couple's data (they
        # can remove Tandem from the channel; the space then goes quiet, and is kept for them).
        if self.who is Who.ANYONE or is_partner:
            return True
        if args.strip().lower() in self.open_args:
            return True
        return self.who is Who.PARTNER_TO_CHANGE and not args


def split_command(text: str) -> tuple[str, str]:
    """ "/Remind@TandemBot 8pm daily" -> ("remind", "8pm daily")."""
    head, _, rest = text.strip().partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    return name, rest.strip()
