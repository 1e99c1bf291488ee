"""The Discord adapter: slash commands, taps and notes -> Incoming; Outgoing -> messages; errors -> SendResult."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Self

import aiohttp
import discord
from aiolimiter import AsyncLimiter
from discord import app_commands

from bot import actions
from bot.checkins import MAX_NOTE
from bot.commands import REGISTRY, Command, Kind, Option
from bot.content import TOPICS
from bot.messages import Address, Button, Event, Incoming, Outgoing, SendResult, SendStatus
from bot.service import SORRY, Tandem
from bot.settings import Settings
from bot.timeparse import zone_suggestions

log = logging.getLogger(__name__)

PLATFORM = "discord"
MAX_LENGTH = 2000  # Discord rejects longer message content
MAX_ALT = 1024  # an attachment's description (alt text)
ACK_AFTER = 2.0  # Discord drops an interaction not acknowledged within 3 s; leave room for the trip
SEND_TIMEOUT = 45.0  # below the core's own send timeout, so a stuck send is a RETRY we chose
READY_TIMEOUT = 30.0
IDLE_ON_STOP = 3.0  # within the app's 5 s for a whole adapter stop
GLOBAL_RATE = 50  # Discord's requests a second per bot, across all its processes
MAX_RATELIMIT_WAIT = 30.0  # longer 429 waits come back as RETRY instead of holding a delivery slot
NOTE_TIMEOUT = 15 * 60.0  # an interaction token lives 15 minutes; the modal cannot outlive it
NOTE_LABEL = "Add a note"
PER_ROW = 5  # Discord's most buttons in one action row
PER_MESSAGE = 25  # Discord's most buttons in one message: five action rows of five
MAX_LABEL = 80  # Discord's longest button label
DMS_CLOSED = 50007  # "Cannot send messages to this user": their DMs are closed, for now
PAIR_COMMAND = "pair"  # in a server channel, Tandem opens the person's DM before the core links it

GUILD_WELCOME = (
    "👋 Hi, I'm Tandem: a small daily companion for couples who are rebuilding trust or keeping it. "
    "Each day I can send one gentle prompt and a 1-to-5 check-in that you both answer.\n"
    "I'm not therapy and not a replacement for a counsellor (/support says where to find one).\n"
    "To begin, type /start in the channel you two want to use: that channel becomes your space. "
    "A private channel only the two of you (and I) can see works best; a DM with me works too."
)
CANNOT_SEE = "Only people who can see this channel can answer its check-ins."
CANNOT_POST = (
    "Heads-up: Discord doesn't let me post in this channel on my own, so prompts and check-ins "
    "can't arrive here. Someone who manages the server can give Tandem the View Channel and "
    "Send Messages permissions in this channel."
)
DAY_SUGGESTIONS = ("daily", "weekdays", "weekends", "mon-fri", "mon,wed,fri", "tue,thu", "sat,sun")
# What talking to Discord can raise, short of a bug.
DISCORD_ERRORS = (discord.HTTPException, aiohttp.ClientError, OSError)


def why(err: Exception) -> str:
    """An error as logs may show it: its class and Discord's numeric code, never its text."""
    code = getattr(err, "code", None)
    return f"{type(err).__name__} {code}" if isinstance(code, int) else type(err).__name__


def answers_checkin(action: str) -> bool:
    """A score or a note: only someone who can see the check-in's channel may give one."""
    return isinstance(actions.parse(action), actions.Answer | actions.Note)


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
    pieces = [Piece(chunk, msg.private) for chunk in split_text(msg.text)]
    views = button_views(msg.buttons)
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
    views: list[discord.ui.View] = []
    for start in range(0, len(items), PER_MESSAGE):
        # timeout=None and fixed custom_ids: taps keep working after a restart (see ActionButton).
        view = discord.ui.View(timeout=None)
        for index, (label, action, emoji) in enumerate(items[start : start + PER_MESSAGE]):
            view.add_item(ActionButton(label, action, row=index // PER_ROW, emoji=emoji))
        views.append(view)
    return views


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=r"(?P<action>.+)"
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
        if isinstance(actions.parse(self.action), actions.Note):
            await adapter.open_note(interaction, self.action)
        else:
            await adapter.answer(interaction, action=self.action)


class NoteModal(discord.ui.Modal, title="Add a note to your check-in"):
    """The note form behind "Add a note"; submitting it sends the core Incoming(action="n:<id>")."""

    def __init__(self, action: str) -> None:
        super().__init__(timeout=NOTE_TIMEOUT)
        self.action = action
        self.note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(
            custom_id="note",
            style=discord.TextStyle.paragraph,
            placeholder="A few words for today's check-in",
            max_length=MAX_NOTE,
        )
        self.add_item(discord.ui.Label(text="Your note", component=self.note))

    async def on_submit(self, interaction: discord.Interaction[discord.Client]) -> None:
        await adapter_of(interaction).answer(interaction, action=self.action, text=self.note.value)


class TandemClient(discord.Client):
    """The discord.py client: minimal intents, no pings, and the events the adapter cares about."""

    def __init__(self, adapter: DiscordAdapter, guild_ready_timeout: float, **shards: Any) -> None:
        # Tandem never joins voice; the missing-voice-library warnings would only puzzle operators.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True  # channels and permissions; no members, no message content
        super().__init__(
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            member_cache_flags=discord.MemberCacheFlags.none(),
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
            guild_ready_timeout=guild_ready_timeout,
            **shards,
        )
        self.adapter = adapter

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ActionButton)
        await self.adapter.sync_commands()

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.adapter.welcome(guild)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.adapter.removed([*guild.channels, *guild.threads])

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self.adapter.removed([channel])

    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self.adapter.removed([discord.Object(payload.thread_id)])


class ShardedTandemClient(TandemClient, discord.AutoShardedClient):
    """The same client running some of the bot's shards (DISCORD_SHARD_COUNT, DISCORD_SHARD_IDS),
    so several processes share one bot. Discord sends DMs to shard 0 only."""


def make_client(
    adapter: DiscordAdapter, guild_ready_timeout: float, shards: tuple[int, list[int]] | None
) -> TandemClient:
    if shards is None:
        return TandemClient(adapter, guild_ready_timeout)
    count, ids = shards
    return ShardedTandemClient(adapter, guild_ready_timeout, shard_count=count, shard_ids=ids)


def adapter_of(interaction: discord.Interaction[discord.Client]) -> DiscordAdapter:
    client = interaction.client
    assert isinstance(client, TandemClient)
    return client.adapter


class DiscordAdapter:
    """Connects Tandem to Discord: the core's Messenger for the platform, and its members' input."""

    platform = PLATFORM

    def __init__(
        self,
        settings: Settings,
        *,
        ack_after: float = ACK_AFTER,
        send_timeout: float = SEND_TIMEOUT,
        ready_timeout: float = READY_TIMEOUT,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        if settings.discord_bot_token is None:
            raise ValueError("DISCORD_BOT_TOKEN is not set")
        self._token = settings.discord_bot_token  # stays a SecretStr until the login call
        self.dev_guild_id = settings.discord_dev_guild_id
        self.ack_after = ack_after
        self.send_timeout = send_timeout
        self.ready_timeout = ready_timeout
        self.client = make_client(self, guild_ready_timeout, settings.discord_shards)
        # Discord allows a bot 50 requests a second; instances sharing it take a share each.
        self._pace = AsyncLimiter(GLOBAL_RATE, 1.0)
        self.tree = build_tree(self.client)
        self._tandem: Tandem | None = None
        self._runner: asyncio.Task[None] | None = None
        # Channels that answered 403/404: nothing more is sent there until someone uses Tandem in
        # them again, so a dead channel costs one invalid request, not one per message.
        self._gone: set[int] = set()
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def tandem(self) -> Tandem:
        if self._tandem is None:
            raise RuntimeError("the Discord adapter is not started")
        return self._tandem

    # Lifecycle

    async def start(self, tandem: Tandem) -> None:
        """Logs in, syncs the slash commands, and returns once the gateway is ready (or still trying)."""
        self._tandem = tandem
        await self.client.login(self._token.get_secret_value())
        self._runner = asyncio.create_task(self._connect(), name="discord-gateway")
        ready = asyncio.create_task(self.client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, self._runner}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
        if self._runner in done:
            self._runner.result()  # the gateway refused us (bad token, intents): stop the start
        elif ready not in done:
            log.warning(
                "Discord gateway not ready after %.0f s; still connecting", self.ready_timeout
            )

    async def _connect(self) -> None:
        try:
            await self.client.connect(reconnect=True)
        except Exception as err:
            log.error("Discord gateway stopped: %s", type(err).__name__)
            raise

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.idle(), IDLE_ON_STOP)
        except TimeoutError:
            log.warning("stopping while a Discord interaction was still being answered")
        await self.client.close()
        if self._runner is not None:
            with contextlib.suppress(Exception):  # already logged by _connect
                await self._runner

    async def idle(self) -> None:
        """Returns once no interaction is being answered."""
        await self._idle.wait()

    async def sync_commands(self) -> None:
        try:
            if self.dev_guild_id is not None:
                guild = discord.Object(self.dev_guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            else:
                synced = await self.tree.sync()
        except DISCORD_ERRORS as err:
            log.warning("could not sync slash commands (%s); the ones synced before stay", why(err))
            return
        where = "the dev guild" if self.dev_guild_id is not None else "all servers"
        log.info("synced %d slash commands to %s", len(synced), where)

    def set_instances(self, n: int) -> None:
        """`n` live instances share this bot: take 1/n of Discord's 50 requests a second."""
        self._pace = AsyncLimiter(max(1, GLOBAL_RATE // max(1, n)), 1.0)

    # Outgoing

    async def send(self, msg: Outgoing) -> SendResult:
        """Posts a message over REST (so it works while the gateway reconnects)."""
        if msg.private:
            # Ephemeral messages only exist as interaction replies; never show them to the channel.
            return SendResult(SendStatus.FAILED, reason="private outside an interaction")
        try:
            channel_id = int(msg.to.chat_id)
        except ValueError:
            return SendResult(SendStatus.FAILED, reason="not a Discord channel id")
        if channel_id in self._gone:
            return SendResult(SendStatus.GONE, reason="gone earlier")
        if self.client.user is None or self.client.is_closed():
            return SendResult(SendStatus.RETRY, reason="not connected")
        channel = self.client.get_partial_messageable(channel_id)
        message_id: str | None = None
        done = msg.resume_at_part  # a retry never posts again the pieces already delivered
        try:
            async with asyncio.timeout(self.send_timeout):
                for piece in render(msg)[done:]:
                    async with self._pace:
                        sent = await channel.send(**piece.kwargs())
                    message_id = str(sent.id)
                    done += 1
        except TimeoutError:
            return SendResult(SendStatus.RETRY, reason="timeout", parts_sent=done)
        except discord.RateLimited as err:
            return SendResult(
                SendStatus.RETRY, retry_after=err.retry_after, reason="RateLimited", parts_sent=done
            )
        except (discord.Forbidden, discord.NotFound) as err:
            # Closed DMs are GONE to the core (it unlinks that private chat, and the partner
            # answers in the channel), but not here: they may open again, and /pair must work then.
            if err.code != DMS_CLOSED:
                self._gone.add(channel_id)
            return SendResult(SendStatus.GONE, reason=why(err))
        except discord.HTTPException as err:
            return replace(self._http_failure(err), parts_sent=done)
        except (aiohttp.ClientError, OSError) as err:
            return SendResult(SendStatus.RETRY, reason=type(err).__name__, parts_sent=done)
        return replace(SendResult.delivered(message_id), parts_sent=done)

    @staticmethod
    def _http_failure(err: discord.HTTPException) -> SendResult:
        reason = f"{type(err).__name__} {err.status}"
        if err.status == 429:  # a Cloudflare ban, or 429s that outlasted discord.py's retries
            retry_after = err.response.headers.get("Retry-After", "")
            wait = float(retry_after) if retry_after.replace(".", "", 1).isdigit() else 60.0
            return SendResult(SendStatus.RETRY, retry_after=wait, reason=reason)
        if err.status >= 500:
            return SendResult(SendStatus.RETRY, reason=reason)
        return SendResult(SendStatus.FAILED, reason=reason)

    # Incoming

    async def command(
        self, interaction: discord.Interaction[discord.Client], command: Command, line: str
    ) -> None:
        """A slash command, as the command line the core reads: "/remind 20:30 weekdays"."""

        async def work() -> list[Outgoing]:
            opens_dm = command.name == PAIR_COMMAND
            replies = await self.tandem.handle(
                await self._incoming(interaction, text=line, open_dm=opens_dm)
            )
            if self._cannot_post(interaction, command):
                replies.append(Outgoing(here(interaction), CANNOT_POST, private=True))
            return replies

        await self._serve(interaction, work)

    async def answer(
        self, interaction: discord.Interaction[discord.Client], *, action: str, text: str = ""
    ) -> None:
        """A button tap or a submitted note."""

        async def work() -> list[Outgoing]:
            if answers_checkin(action) and (refusal := self._viewer_refusal(interaction)):
                return [Outgoing(here(interaction), refusal, private=True)]
            opens_dm = action == actions.PAIR
            incoming = await self._incoming(interaction, text=text, action=action, open_dm=opens_dm)
            return await self.tandem.handle(incoming)

        await self._serve(interaction, work)

    async def open_note(
        self, interaction: discord.Interaction[discord.Client], action: str
    ) -> None:
        # A modal must be the first response, so the check runs here and the core only sees the note.
        if (refusal := self._viewer_refusal(interaction)) is not None:
            await self._respond_quietly(interaction, refusal)
            return
        try:
            await interaction.response.send_modal(NoteModal(action))
        except DISCORD_ERRORS as err:
            log.warning("could not open the note form: %s", why(err))

    async def _incoming(
        self,
        interaction: discord.Interaction[discord.Client],
        *,
        text: str = "",
        action: str | None = None,
        open_dm: bool = False,
    ) -> Incoming:
        user = interaction.user
        in_guild = interaction.guild_id is not None
        return Incoming(
            here(interaction),
            user_id=str(user.id),
            user_name=user.display_name,
            text=text,
            action=action,
            direct=not in_guild,
            whisper=True,  # every interaction can be answered ephemerally
            manager=in_guild and interaction.permissions.manage_channels,
            private_chat=await self._open_dm(user) if open_dm and in_guild else None,
        )

    async def _open_dm(self, user: discord.User | discord.Member) -> str | None:
        """This person's DM channel with Tandem, for the core to link; None if Discord says no."""
        try:
            channel = await user.create_dm()
        except DISCORD_ERRORS as err:
            log.warning("could not open a DM: %s", why(err))
            return None
        # The person asked for it: try it again even if it failed before (DMs may be open now).
        self._gone.discard(channel.id)
        return str(channel.id)

    @contextlib.contextmanager
    def _at_work(self) -> Iterator[None]:
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    async def _serve(
        self,
        interaction: discord.Interaction[discord.Client],
        work: Callable[[], Awaitable[list[Outgoing]]],
    ) -> None:
        """Runs the work, acknowledging the interaction in time if it is slow, then answers."""
        with self._at_work():
            if interaction.channel_id is not None:
                self._gone.discard(interaction.channel_id)
            task = asyncio.ensure_future(self._safely(interaction, work))
            done, _ = await asyncio.wait({task}, timeout=self.ack_after)
            if not done:
                await self._defer(interaction)
            await self._reply(interaction, await task)

    @staticmethod
    async def _safely(
        interaction: discord.Interaction[discord.Client],
        work: Callable[[], Awaitable[list[Outgoing]]],
    ) -> list[Outgoing]:
        try:
            return await work()
        except Exception as err:  # the core answers its own errors; this is a last resort
            log.error("answering an interaction failed with %s", type(err).__name__)
            return [Outgoing(here(interaction), SORRY, private=True)]

    @staticmethod
    def _cannot_post(interaction: discord.Interaction[discord.Client], command: Command) -> bool:
        # Replies to commands need no channel permission, so setup seems fine; the scheduled
        # messages would then hit 403 and the space would stop without a word. Say so now.
        if interaction.guild_id is None or not posts_unasked(command):
            return False
        allowed = interaction.app_permissions
        in_thread = isinstance(interaction.channel, discord.Thread)
        send = allowed.send_messages_in_threads if in_thread else allowed.send_messages
        return not (allowed.view_channel and send)

    @staticmethod
    def _viewer_refusal(interaction: discord.Interaction[discord.Client]) -> str | None:
        if interaction.guild_id is None or interaction.permissions.view_channel:
            return None
        return CANNOT_SEE

    async def _defer(self, interaction: discord.Interaction[discord.Client]) -> None:
        # Ephemeral "thinking": a private reply replaces it, a public one follows it and it goes.
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
        except DISCORD_ERRORS as err:
            log.warning("could not acknowledge an interaction: %s", why(err))

    async def _reply(
        self, interaction: discord.Interaction[discord.Client], replies: list[Outgoing]
    ) -> None:
        """Replies to this channel answer the interaction; the rest (a reveal in the channel after
        a tap in a DM, a DM after /pair) are posted like any other message."""
        channel = here(interaction)
        pieces = [piece for reply in replies if reply.to == channel for piece in render(reply)]
        try:
            rest = await self._first_response(interaction, pieces)
            for piece in rest:
                await interaction.followup.send(
                    **piece.kwargs(), ephemeral=piece.ephemeral, wait=True
                )
        except DISCORD_ERRORS as err:
            log.warning("could not answer an interaction: %s", why(err))
        for reply in replies:
            if reply.to != channel:
                result = await self.send(reply)
                if result.status is not SendStatus.DELIVERED:
                    log.warning("a reply to another chat was not delivered: %s", result.reason)

    async def _first_response(
        self, interaction: discord.Interaction[discord.Client], pieces: list[Piece]
    ) -> list[Piece]:
        """Sends or settles the interaction's own response; returns the pieces left for follow-ups."""
        if not interaction.response.is_done():
            if not pieces:
                # Everything was said elsewhere (a check-in asked now, a reveal): leave no trace.
                await interaction.response.defer(ephemeral=True, thinking=True)
                await interaction.delete_original_response()
                return []
            first, *rest = pieces
            await interaction.response.send_message(**first.kwargs(), ephemeral=first.ephemeral)
            return rest
        private = next((p for p in pieces if p.ephemeral), None)
        if private is None:
            await interaction.delete_original_response()
            return pieces
        edit: dict[str, Any] = {"content": private.content}
        if private.view is not None:
            edit["view"] = private.view
        if private.file is not None:
            edit["attachments"] = [private.file]
        if private.embed is not None:
            edit["embed"] = private.embed
        await interaction.edit_original_response(**edit)
        return [p for p in pieces if p is not private]

    async def _respond_quietly(
        self, interaction: discord.Interaction[discord.Client], text: str
    ) -> None:
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except DISCORD_ERRORS as err:
            log.warning("could not answer an interaction: %s", why(err))

    # Server events

    async def welcome(self, guild: discord.Guild) -> None:
        """Says hello where the server lets it: the system channel, else the first it may write in."""
        with self._at_work():
            await self._welcome(guild)

    async def _welcome(self, guild: discord.Guild) -> None:
        me = guild.me
        candidates = [guild.system_channel, *sorted(guild.text_channels, key=lambda c: c.position)]
        for channel in candidates:
            if channel is None:
                continue
            allowed = channel.permissions_for(me)
            if allowed.view_channel and allowed.send_messages:
                try:
                    await channel.send(GUILD_WELCOME)
                except DISCORD_ERRORS as err:
                    log.info("could not post the welcome: %s", why(err))
                return
        log.info("joined a server with no channel Tandem may write in; no welcome posted")

    async def removed(self, channels: Sequence[discord.abc.Snowflake]) -> None:
        """The bot lost these channels (deleted, or the server removed it): their spaces stop."""
        with self._at_work():
            for channel in channels:
                self._gone.discard(channel.id)
                incoming = Incoming(Address(PLATFORM, str(channel.id)), event=Event.REMOVED)
                await self.tandem.handle(incoming)

    async def respond_error(self, interaction: discord.Interaction[discord.Client]) -> None:
        await self._respond_quietly(interaction, SORRY)


# Slash commands


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


def here(interaction: discord.Interaction[discord.Client]) -> Address:
    """The chat an interaction happened in."""
    return Address(PLATFORM, str(interaction.channel_id))


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
