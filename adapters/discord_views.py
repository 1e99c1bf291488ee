"""Discord's message shapes: text split to 2,000 characters, pieces with buttons and files, the button and note-form components."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import discord

from adapters.discord_client import adapter_of
from bot import actions
from bot.checkins.answers import MAX_NOTE
from bot.messages import Button, Outgoing

MAX_LENGTH = 2000  # Discord rejects longer message content
MAX_ALT = 1024  # an attachment's description (alt text)
NOTE_TIMEOUT = 15 * 60.0  # an interaction token lives 15 minutes; the modal cannot outlive it
NOTE_LABEL = "Add a note"
PER_ROW = 5  # Discord's most buttons in one action row
PER_MESSAGE = 25  # Discord's most buttons in one message: five action rows of five
MAX_LABEL = 80  # Discord's longest button label
MAX_OPTIONS = 25  # Discord's most options in one select menu


def split_text(text: str, limit: int = MAX_LENGTH) -> list[str]:
    """Pieces of at most `limit` characters, cut at a paragraph, else a line, else a word break."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        # A break in the first half would leave a stub of a message; cut hard instead.
        cut = next(
            (i for sep in ("\n\n", "\n", " ") if (i := window.rfind(sep)) > limit // 2), limit
        )
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    pieces.append(rest)
    return [p for p in pieces if p] or [""]


@dataclass
class Piece:
    """One Discord message of an Outgoing: the text, and (on the last piece) its buttons and file."""

    content: str
    ephemeral: bool
    view: discord.ui.View | None = None
    file: discord.File | None = None
    embed: discord.Embed | None = None
    edit: bool = False  # replaces the message whose button was tapped (the /settings menu)

    def kwargs(self) -> dict[str, Any]:
        args: dict[str, Any] = {"content": self.content}
        if self.view is not None:
            args["view"] = self.view
        if self.file is not None:
            args["file"] = self.file
        if self.embed is not None:
            args["embed"] = self.embed
        return args


def render(msg: Outgoing) -> list[Piece]:
    """An Outgoing as Discord messages: split to 2,000 characters, buttons and file on the last.
    A picture is shown in an embed, its one-line summary as the file's alt text. Buttons beyond
    a message's 25 (five rows of five) follow on further messages of their own."""
    # Tandem writes plain text; what people wrote inside it (a note, a name, a promise) must not
    # turn into headings, spoilers or fake quotes, so every Markdown mark is shown as typed.
    text = discord.utils.escape_markdown(msg.text)
    pieces = [Piece(chunk, msg.private) for chunk in split_text(text)]
    pieces[0].edit = msg.edit is not None and len(pieces) == 1
    # An ephemeral reply is theirs alone and goes by itself: "Remove this from the chat" is not
    # needed there (and could not remove it).
    buttons = [b for b in msg.buttons if not (msg.private and actions.removes(b.action))]
    views = button_views(buttons)
    if views:
        pieces[-1].view = views[0]
    attachment = msg.attachment
    if attachment is not None:
        data = io.BytesIO(attachment.data)
        alt = attachment.alt[:MAX_ALT] or None
        pieces[-1].file = discord.File(data, filename=attachment.filename, description=alt)
        if attachment.image:
            embed = discord.Embed()
            embed.set_image(url=f"attachment://{attachment.filename}")
            pieces[-1].embed = embed
    return pieces + [Piece("", msg.private, view) for view in views[1:]]


def fit_label(text: str) -> str:
    """A button's label as Discord takes it: at most 80 characters (a longer one fails the
    whole message with 400 Invalid Form Body), shortened with "…"."""
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def button_views(buttons: Sequence[Button]) -> list[discord.ui.View]:
    """Tandem's buttons, five to a row and 25 to a message (Discord's most: five rows of five);
    a check-in gets "Add a note" right after its answers."""
    # A button that opens a private chat by deep link (`start`) has no Discord form: Tandem
    # opens DMs itself on /pair, so the core never sends one here.
    # Discord's buttons have room for a score's label: "1 · not at all".
    items: list[tuple[str, str, str | None]] = [
        (fit_label(f"{b.label} · {b.detail}" if b.detail else b.label), b.action, None)
        for b in buttons
        if b.action
    ]
    if (note := actions.note_action_for(buttons)) is not None:
        answers = [
            i for i, (_, a, _) in enumerate(items) if isinstance(actions.parse(a), actions.Answer)
        ]
        items.insert(answers[-1] + 1, (NOTE_LABEL, note, "📝"))
    # Options of one choice among many (days, topics) go into a select menu, each in its own row
    # above the buttons; Discord's most options in one menu is 25 (so 27 topics take two).
    choices = [(fit_label(b.label), b.action, b.detail) for b in buttons if b.choice and b.action]
    items = [i for i in items if i[1] not in {action for _, action, _ in choices}]
    views: list[discord.ui.View] = []
    if choices:
        view = discord.ui.View(timeout=None)
        menus = [choices[i : i + MAX_OPTIONS] for i in range(0, len(choices), MAX_OPTIONS)][:2]
        for row, options in enumerate(menus):
            view.add_item(ChoiceMenu(options, row=row))
        for index, (label, action, emoji) in enumerate(items[: PER_MESSAGE - 2 * PER_ROW]):
            row = len(menus) + index // PER_ROW
            view.add_item(ActionButton(label, action, row=row, emoji=emoji))
        return [view]
    for start in range(0, len(items), PER_MESSAGE):
        # timeout=None and fixed custom_ids: taps keep working after a restart (see ActionButton).
        view = discord.ui.View(timeout=None)
        for index, (label, action, emoji) in enumerate(items[start : start + PER_MESSAGE]):
            view.add_item(ActionButton(label, action, row=index // PER_ROW, emoji=emoji))
        views.append(view)
    return views


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"(?P<action>(?!menu:).+)",  # a select menu's custom_id is its own (ChoiceMenu)
):
    """Every button Tandem sends: its custom_id is the core's action, so no view state is kept."""

    def __init__(
        self, label: str, action: str, *, row: int | None = None, emoji: str | None = None
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label, custom_id=action, style=discord.ButtonStyle.secondary, emoji=emoji
            ),
            row=row,
        )
        self.action = action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[discord.Client],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        label = getattr(item, "label", None) or ""
        return cls(label, match["action"])

    async def callback(self, interaction: discord.Interaction[discord.Client]) -> None:
        adapter = adapter_of(interaction)
        if isinstance(actions.parse(self.action), actions.Note) or actions.opens_form(self.action):
            await adapter.open_note(interaction, self.action)
        else:
            await adapter.answer(interaction, action=self.action)


class ChoiceMenu(
    discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]], template=r"menu:(?P<first>.+)"
):
    """A choice among many as a select menu: each option's value is the core's action, and the
    menu's custom_id names its first option's, so no view state is kept here either."""

    def __init__(self, choices: Sequence[tuple[str, str, str]], *, row: int | None = None) -> None:
        options = [
            discord.SelectOption(label=label, value=action, description=detail[:100] or None)
            for label, action, detail in choices
        ]
        super().__init__(
            discord.ui.Select(
                custom_id=f"menu:{choices[0][1]}"[:100], options=options, placeholder="Choose…"
            ),
            row=row,
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[discord.Client],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        options = getattr(item, "options", None) or []
        return cls([(o.label, o.value, o.description or "") for o in options] or [("", "", "")])

    async def callback(self, interaction: discord.Interaction[discord.Client]) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        values = data.get("values") or []
        if values:
            await adapter_of(interaction).answer(interaction, action=str(values[0]))


class NoteModal(discord.ui.Modal, title="Add a note to your check-in"):
    """The note form behind "Add a note", and the answer form behind today's question's "Answer";
    submitting it sends the core Incoming(action=<the button's>, text=<the words>)."""

    def __init__(self, action: str) -> None:
        words = actions.opens_form(action)  # today's question or /repair, not a check-in's note
        talk = isinstance(actions.parse(action), actions.Repair)
        title = "A talk after a hard moment" if talk else "Today's question"
        super().__init__(timeout=NOTE_TIMEOUT, title=title if words else self.title)
        self.action = action
        self.note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(
            custom_id="note",
            style=discord.TextStyle.paragraph,
            placeholder=(
                "Only you see it until you've both answered"
                if words
                else "A few words for today's check-in"
            ),
            max_length=MAX_NOTE,
        )
        label = "Your answer" if words else "Your note"
        self.add_item(discord.ui.Label(text=label, component=self.note))

    async def on_submit(self, interaction: discord.Interaction[discord.Client]) -> None:
        await adapter_of(interaction).answer(interaction, action=self.action, text=self.note.value)
