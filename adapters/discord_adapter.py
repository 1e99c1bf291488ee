"""The Discord adapter: slash commands, taps and notes -> Incoming; Outgoing -> messages; errors -> SendResult; and the sender."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import aiohttp
import discord
from aiolimiter import AsyncLimiter

from adapters.discord_client import make_client
from adapters.discord_commands import build_tree, posts_unasked
from adapters.discord_views import ActionButton, ChoiceMenu, NoteModal, Piece, render
from bot import actions
from bot.command import Command
from bot.messages import Address, Event, Incoming, Outgoing, SendResult, SendStatus
from bot.service import SORRY, Tandem
from bot.settings import Settings
from bot.store import read_mark, write_mark

log = logging.getLogger(__name__)

PLATFORM = "discord"
MENTION = re.compile(r"<@!?(\d{1,20})>")  # a user mention as it is written in a message's text
ACK_AFTER = 2.0  # Discord drops an interaction not acknowledged within 3 s; leave room for the trip
SEND_TIMEOUT = 45.0  # below the core's own send timeout, so a stuck send is a RETRY we chose
READY_TIMEOUT = 30.0
IDLE_ON_STOP = 3.0  # within the app's 5 s for a whole adapter stop
GLOBAL_RATE = 50  # Discord's requests a second per bot, across all its processes
DMS_CLOSED = 50007  # "Cannot send messages to this user": their DMs are closed, for now
# Answered after a chart is drawn or much is read: acknowledged at once, not after ACK_AFTER.
DEFER_AT_ONCE = frozenset({"export", "progress"})
PAIR_COMMAND = "pair"  # in a server channel, Tandem opens the person's DM before the core links it

GUILD_WELCOME = (
    "👋 Hi, I'm Tandem: a small daily companion for couples who are rebuilding trust or keeping it. "
    "Each day I can send one gentle prompt and a 1-to-5 check-in that you both answer.\n"
    "I'm not therapy and not a replacement for a counsellor (/support says where to find one).\n"
    "To begin, type /start in the channel you two want to use: that channel becomes your space. "
    "A private channel only the two of you (and I) can see works best; a DM with me works too."
)
NO_DM = (
    "🔒 My answer to that is for you alone, and Discord didn't let me message you (your DMs may "
    "be closed). A slash command, like /help or /support, answers where only you can see it."
)
CANNOT_SEE = "Only people who can see this channel can answer its check-ins."
CANNOT_POST = (
    "Heads-up: Discord doesn't let me post in this channel on my own, so prompts and check-ins "
    "can't arrive here. Someone who manages the server can give Tandem the View Channel and "
    "Send Messages permissions in this channel."
)
# What talking to Discord can raise, short of a bug.
DISCORD_ERRORS = (discord.HTTPException, aiohttp.ClientError, OSError)


def why(err: Exception) -> str:
    """An error as logs may show it: its class and Discord's numeric code, never its text."""
    code = getattr(err, "code", None)
    return f"{type(err).__name__} {code}" if isinstance(code, int) else type(err).__name__


def answers_checkin(action: str) -> bool:
    """A score or a note: only someone who can see the check-in's channel may give one."""
    return isinstance(actions.parse(action), actions.Answer | actions.Note)


def here(interaction: discord.Interaction[discord.Client]) -> Address:
    """The chat an interaction happened in."""
    return Address(PLATFORM, str(interaction.channel_id))


# The adapter


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
        # One process syncs the slash commands: the one running shard 0 (every process used to,
        # each a global PUT at every start).
        shards = settings.discord_shards
        self.syncs_commands = shards is None or 0 in shards[1]
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

    async def setup(self) -> None:
        """At login: taps on buttons sent before a restart still arrive, then the slash commands."""
        self.client.add_dynamic_items(ActionButton, ChoiceMenu)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Syncs the slash commands when the table changed since the last sync (its hash is
        kept in the database), from one process: every start used to PUT them all again."""
        if not self.syncs_commands:
            log.info("slash commands are synced by the process running shard 0")
            return
        guild = None if self.dev_guild_id is None else discord.Object(self.dev_guild_id)
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        where = "the dev guild" if guild is not None else "all servers"
        mark = f"discord-commands:{self.client.application_id}:{guild.id if guild else 'global'}"
        digest = command_table_hash(self.tree, guild)
        if await read_mark(self.tandem.store, mark) == digest:
            log.info("slash commands unchanged since the last sync to %s; not synced", where)
            return
        try:
            synced = await self.tree.sync(guild=guild)
        except DISCORD_ERRORS as err:
            log.warning("could not sync slash commands (%s); the ones synced before stay", why(err))
            return
        await write_mark(self.tandem.store, mark, digest, self.tandem.clock.now())
        log.info("synced %d slash commands to %s", len(synced), where)

    @property
    def connected(self) -> bool:
        """Logged in, every shard this process runs ready, the connection not closed."""
        return self.client.is_ready() and not self.client.is_closed()

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

    async def delete(self, to: Address, message_ref: str) -> bool:
        """Removes one of Tandem's messages (a bot may not remove a person's in a DM); False
        when Discord says no: gone already, or not Tandem's."""
        try:
            channel_id, message_id = int(to.chat_id), int(message_ref)
        except ValueError:
            return False
        if self.client.user is None or self.client.is_closed():
            return False
        message = self.client.get_partial_messageable(channel_id).get_partial_message(message_id)
        try:
            async with asyncio.timeout(self.send_timeout), self._pace:
                await message.delete()
        except (TimeoutError, *DISCORD_ERRORS) as err:
            log.info("could not delete a message: %s", why(err))
            return False
        return True

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

        await self._serve(interaction, work, at_once=command.name in DEFER_AT_ONCE)

    async def answer(
        self, interaction: discord.Interaction[discord.Client], *, action: str, text: str = ""
    ) -> None:
        """A button tap or a submitted note."""

        async def work() -> list[Outgoing]:
            if answers_checkin(action) and (refusal := self._viewer_refusal(interaction)):
                return [Outgoing(here(interaction), refusal, private=True)]
            opens_dm = action == actions.PAIR
            incoming = await self._incoming(interaction, text=text, action=action, open_dm=opens_dm)
            if interaction.message is not None:  # the message whose button was tapped
                incoming = replace(incoming, message_ref=str(interaction.message.id))
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
        *,
        at_once: bool = False,
    ) -> None:
        """Runs the work, acknowledging the interaction in time if it is slow (`at_once`: before
        it starts), then answers."""
        with self._at_work():
            if interaction.channel_id is not None:
                self._gone.discard(interaction.channel_id)
            if at_once:
                await self._defer(interaction)
            task = asyncio.ensure_future(self._safely(interaction, work))
            done, _ = await asyncio.wait({task}, timeout=None if at_once else self.ack_after)
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
            if first.edit and interaction.message is not None:  # the /settings menu, in place
                await interaction.response.edit_message(content=first.content, view=first.view)
            else:
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

    async def direct_message(self, message: discord.Message) -> None:
        """Words typed in a DM: plain words the core answers there (crisis words first); commands
        come as slash commands, not as text."""
        await self._words(message, message.content, direct=True)

    async def mentioned(self, message: discord.Message, me: int) -> None:
        """A channel message that mentions Tandem: its words, without the mention, are for it.
        Replies go to the channel (a message has no ephemeral reply), or privately elsewhere."""
        text = MENTION.sub(lambda m: "" if int(m[1]) == me else m[0], message.content)
        await self._words(message, text.strip(" ,:"), direct=False)

    async def _words(self, message: discord.Message, text: str, *, direct: bool) -> None:
        if not text.strip() or text.startswith("/"):
            return
        # A reply only the writer sees is possible here too: in a DM, or else in their DM with
        # Tandem (a channel message has no ephemeral reply), so help for words typed in the
        # channel reaches them, never the channel.
        incoming = Incoming(
            Address(PLATFORM, str(message.channel.id)),
            user_id=str(message.author.id),
            user_name=message.author.display_name,
            text=text,
            direct=direct,
            addressed=not direct,
            whisper=True,
        )
        with self._at_work():
            for reply in await self.tandem.handle(incoming):
                if reply.private and reply.to == incoming.to and not direct:
                    await self._to_author(message, reply)
                    continue
                # A DM is for this person alone: "private" holds there without an interaction.
                here = direct and reply.to == incoming.to
                await self.send(replace(reply, private=False) if here else reply)

    async def _to_author(self, message: discord.Message, reply: Outgoing) -> None:
        """A reply for the writer alone, to words typed in a channel: in their DM with Tandem;
        where Discord refuses that, a line in the channel that says nothing of what it was."""
        dm = await self._open_dm(message.author)
        if dm is not None:
            sent = await self.send(replace(reply, to=Address(PLATFORM, dm), private=False))
            if sent.status is SendStatus.DELIVERED:
                return
        await self.send(Outgoing(Address(PLATFORM, str(message.channel.id)), NO_DM))

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


def command_table_hash(tree: discord.app_commands.CommandTree[Any], guild: Any) -> str:
    """The table as Discord's sync would send it, hashed: equal hashes, nothing to sync."""
    payload = [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
