"""Tandem's slash commands on Discord: the command tree built from the registry, option types, choices and autocomplete."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord_client import TandemClient, adapter_of
from bot.command import Command, Kind, Option
from bot.content import TOPICS
from bot.registry import REGISTRY
from bot.timeparse import zone_suggestions

log = logging.getLogger(__name__)

DAY_SUGGESTIONS = ("daily", "weekdays", "weekends", "mon-fri", "mon,wed,fri", "tue,thu", "sat,sun")


async def zone_choices(
    interaction: discord.Interaction[discord.Client], current: str
) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=zone, value=zone) for zone in zone_suggestions(current)]


async def day_choices(
    interaction: discord.Interaction[discord.Client], current: str
) -> list[app_commands.Choice[str]]:
    typed = current.strip().lower()
    names = [d for d in DAY_SUGGESTIONS if d.startswith(typed)] or [current.strip()[:100]]
    return [app_commands.Choice(name=d, value=d) for d in names if d]


async def topic_choices(
    interaction: discord.Interaction[discord.Client], current: str
) -> list[app_commands.Choice[str]]:
    # A list like "gratitude, pat": offer the topics that complete the last word.
    head, _, last = current.rpartition(",")
    chosen = {w.strip().lower() for w in head.split(",") if w.strip()}
    prefix = f"{head.strip()}, " if head.strip() else ""
    names = [
        f"{prefix}{key}"
        for key in TOPICS
        if key.startswith(last.strip().lower()) and key not in chosen
    ]
    return [app_commands.Choice(name=n, value=n) for n in names if len(n) <= 100][:25]


AUTOCOMPLETE = {Kind.ZONE: zone_choices, Kind.DAYS: day_choices, Kind.TOPICS: topic_choices}
# The first parameter discord.py passes; the options follow as keyword arguments.
INTERACTION = inspect.Parameter(
    "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
)


def option_parameter(option: Option) -> inspect.Parameter:
    """A registry option as the typed parameter discord.py reads a slash command's option from."""
    annotation: Any
    if option.choices:
        annotation = str  # the choice's name: the value the core reads may be empty ("show")
    elif option.kind is Kind.NUMBER:
        annotation = app_commands.Range[int, 1, option.max_value]
    else:
        annotation = app_commands.Range[str, 1, option.max_length]
    default = inspect.Parameter.empty if option.required else None
    return inspect.Parameter(
        option.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def option_value(option: Option, value: object) -> object:
    """What the core reads for an option's value: a choice's name becomes its command-line word."""
    if value is None or not option.choices:
        return value
    return dict(option.choices).get(str(value), value)


def slash_command(command: Command) -> app_commands.Command[Any, ..., None]:
    """A real discord.py slash command built from a registry entry; its callback's signature is
    made from the options, since discord.py reads the parameters from the signature."""

    async def callback(interaction: discord.Interaction[discord.Client], **values: Any) -> None:
        line = command.line([option_value(o, values.get(o.name)) for o in command.options])
        await adapter_of(interaction).command(interaction, command, line)

    options = command.options
    callback.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [INTERACTION, *(option_parameter(o) for o in options)]
    )
    callback = app_commands.describe(**{o.name: o.description for o in options})(callback)
    choices = {
        o.name: [app_commands.Choice(name=shown, value=shown) for shown, _ in o.choices]
        for o in options
        if o.choices
    }
    callback = app_commands.choices(**choices)(callback)
    # Discord refuses an option with both choices and autocomplete; the choices win.
    completes = {
        o.name: AUTOCOMPLETE[o.kind] for o in options if o.kind in AUTOCOMPLETE and not o.choices
    }
    callback = app_commands.autocomplete(**completes)(callback)
    return app_commands.Command(
        name=command.name, description=command.description, callback=callback
    )


def posts_unasked(command: Command) -> bool:
    """After this command Tandem posts in the channel on its own: a space begins, or a time is set."""
    return command.name == "start" or any(o.kind is Kind.TIME for o in command.options)


def build_tree(client: TandemClient) -> app_commands.CommandTree[TandemClient]:
    tree: app_commands.CommandTree[TandemClient] = app_commands.CommandTree(
        client,
        # A server channel or a DM with the bot; group DMs would need a user install.
        allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True),
        allowed_installs=app_commands.AppInstallationType(guild=True),
    )
    for command in REGISTRY:
        tree.add_command(slash_command(command))

    @tree.error
    async def on_error(
        interaction: discord.Interaction[TandemClient], error: app_commands.AppCommandError
    ) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        log.error("slash command failed with %s", type(cause).__name__)
        await interaction.client.adapter.respond_error(interaction)

    return tree
