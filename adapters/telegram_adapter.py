"""The Telegram adapter: Bot API updates -> Incoming, Outgoing -> messages, Telegram's errors -> SendResult, and the sender."""

from __future__ import annotations

import logging
import secrets
import traceback
from collections.abc import Awaitable, Iterable
from dataclasses import replace
from datetime import timedelta

from telegram import (
    BotCommand,
    Chat,
    ChatMember,
    ForceReply,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType, MessageEntityType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from adapters.telegram_connection import ALLOWED_UPDATES, TgApp, Webhook, application
from adapters.telegram_limits import BULK, FloodControl, Limits, retry_seconds
from adapters.telegram_logs import LogGuards, token_secrets
from adapters.telegram_render import (
    MAX_ANSWER,
    MAX_CAPTION,
    clip,
    deep_link,
    keyboard,
    sendable,
    split_text,
    utf16_len,
)
from adapters.telegram_words import command_line, mention_words
from bot.leader import RETRY_SECONDS, Leader, plain_dsn
from bot.messages import Address, Event, Incoming, Outgoing, SendResult, SendStatus
from bot.registry import REGISTRY
from bot.service import Tandem
from bot.settings import Settings

log = logging.getLogger(__name__)

PLATFORM = "telegram"
GONE_BAD_REQUESTS = ("chat not found", "peer_id_invalid")
PRESENT = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}


# ---- Translations in: Update -> Incoming -------------------------------------------------------


def address(chat_id: int | str) -> Address:
    return Address(PLATFORM, str(chat_id))


def chat_ref(chat_id: str) -> int | str:
    try:
        return int(chat_id)
    except ValueError:
        return chat_id  # "@channelname"


def is_private_chat(to: Address) -> bool:
    """A person's private chat with the bot: Telegram gives it the person's (positive) id, and
    groups, supergroups and channels negative ids (or an @name)."""
    ref = chat_ref(to.chat_id)
    return isinstance(ref, int) and ref > 0


def person(user: User) -> str:
    return user.first_name or user.username or "someone"


def from_member(
    chat: Chat,
    user: User,
    *,
    text: str = "",
    action: str | None = None,
    reply_to: str | None = None,
    event: Event | None = None,
    message_id: int | None = None,
) -> Incoming:
    """What a person did in a chat. A private chat is direct, and all of it is for them alone;
    in a group only a tap's answer is (answerCallbackQuery), so a tap whispers everywhere.
    `message_id`: the person's message, or for a tap, Tandem's message the button is on."""
    direct = chat.type == ChatType.PRIVATE
    return Incoming(
        address(chat.id),
        str(user.id),
        person(user),
        text=text,
        action=action,
        reply_to=reply_to,
        event=event,
        direct=direct,
        whisper=direct or action is not None,
        message_ref=str(message_id) if message_id is not None else None,
    )


def is_present(member: ChatMember) -> bool:
    """In the chat now: its creator, an administrator, a member, or restricted but still in it."""
    if member.status in PRESENT:
        return True
    return member.status == ChatMemberStatus.RESTRICTED and bool(
        getattr(member, "is_member", False)
    )


def membership_event(update: Update) -> Event | None:
    changed = update.my_chat_member
    if changed is None:
        return None
    now_in = is_present(changed.new_chat_member)
    was_in = is_present(changed.old_chat_member)
    if now_in and not was_in:
        return Event.ADDED
    if was_in and not now_in:
        return Event.REMOVED
    return None  # promoted, restricted, ...: still there


def removed(to: Address) -> Incoming:
    """Telegram refused a reply for good: the chat is gone, or (a private chat) its person
    blocked Tandem. A private chat's id is its person's id."""
    if is_private_chat(to):
        return Incoming(to, user_id=to.chat_id, event=Event.REMOVED, direct=True, whisper=True)
    return Incoming(to, event=Event.REMOVED)


# ---- Translations out: Outgoing -> Bot API calls, Telegram's errors -> SendResult ------------


def toastable(reply: Outgoing, direct: bool) -> bool:
    """A private answer to a tap fits in the tap's little notice (answerCallbackQuery): text and
    at most a start button. In a private chat, one with more (choices, a file, a long text) is
    sent as a message there instead (and one that replaces the tapped message edits it); in a
    group that would be public, so only its text shows."""
    if not direct:
        return True
    plain = all(b.start is not None for b in reply.buttons) and reply.attachment is None
    return plain and reply.edit is None and utf16_len(reply.text) <= MAX_ANSWER


def outcome(err: TelegramError) -> SendResult:
    """What a Telegram error means for the core; `reason` is a class name, never contents."""
    reason = type(err).__name__
    if isinstance(err, ChatMigrated):
        return SendResult(SendStatus.MOVED, new_address=address(err.new_chat_id), reason=reason)
    if isinstance(err, RetryAfter):
        return SendResult(SendStatus.RETRY, retry_after=retry_seconds(err), reason=reason)
    if isinstance(err, Forbidden):  # blocked, kicked, deactivated user, deleted group
        return SendResult(SendStatus.GONE, reason=reason)
    if isinstance(err, BadRequest):  # before NetworkError: PTB makes BadRequest a NetworkError
        if any(gone in err.message.lower() for gone in GONE_BAD_REQUESTS):
            return SendResult(SendStatus.GONE, reason=f"{reason}: chat not found")
        return SendResult(SendStatus.FAILED, reason=reason)
    if isinstance(err, EndPointNotFound):
        return SendResult(SendStatus.FAILED, reason=reason)
    # TimedOut, NetworkError, InvalidToken, Conflict, a garbled response: none is the chat's fault.
    return SendResult(SendStatus.RETRY, reason=reason)


# ---- The adapter -------------------------------------------------------------------------------


class TelegramAdapter:
    """Connects the core to one Telegram bot: long polling (or a webhook), sending, Telegram's errors."""

    platform = PLATFORM

    def __init__(
        self,
        settings: Settings,
        *,
        limits: Limits | None = None,
        request_timeout: float = 10.0,
        poll_timeout: float = 10.0,
        leader_retry: float = RETRY_SECONDS,
    ) -> None:
        if settings.telegram_bot_token is None:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        self.settings = settings
        self.paid_broadcast = settings.telegram_paid_broadcast  # scheduled sends, a higher rate
        self.limits = limits or (Limits.paid() if self.paid_broadcast else Limits())
        self.request_timeout = request_timeout
        self.poll_timeout = poll_timeout
        self.leader_retry = leader_retry
        self._leader: Leader | None = None
        self._token = settings.telegram_bot_token.get_secret_value()
        configured = settings.telegram_webhook_secret
        # Telegram repeats the secret on every webhook call; without one anyone could post updates.
        self._webhook_secret = (
            configured.get_secret_value() if configured else secrets.token_urlsafe(32)
        )
        self._log_guards = LogGuards(*token_secrets(self._token), self._webhook_secret)
        self._app: TgApp | None = None
        self._tandem: Tandem | None = None
        self._webhook: Webhook | None = None
        self.flood = FloodControl(self.limits)
        self.username = ""

    # -- lifecycle --

    async def start(self, tandem: Tandem) -> None:
        self._log_guards.install()
        self._tandem = tandem
        app = self._build()
        self._app = app
        try:
            try:
                await app.initialize()  # getMe
            except InvalidToken:
                log.error("telegram: the bot token was refused; check TELEGRAM_BOT_TOKEN")
                raise
            self.username = app.bot.username
            await self._register_commands(app)
            await app.start()
            if url := self.settings.telegram_webhook_url:
                self._webhook = Webhook(app, self._webhook_secret)
                settings = self.settings
                await self._webhook.start(
                    url, settings.telegram_webhook_listen, settings.telegram_webhook_port
                )
                mode = "webhook"
            elif (dsn := plain_dsn(self.settings.database_url)) is not None:
                # On PostgreSQL several instances may run; Telegram lets only one poll (another
                # getUpdates gets 409 Conflict). The holder of an advisory lock polls; the others
                # only deliver, and one of them takes over when the poller's connection closes.
                name = f"tandem telegram polling {self._token.partition(':')[0]}"
                self._leader = Leader(
                    dsn, name, self._start_polling, self._stop_polling, self.leader_retry
                )
                self._leader.start()
                mode = "long polling by one instance at a time"
            else:
                await self._start_polling()
                mode = "long polling"
        except BaseException:
            await self.stop()
            raise
        log.info("telegram: connected as @%s (%s)", self.username, mode)

    @property
    def polling(self) -> bool:
        """Whether this instance is the one fetching updates with getUpdates."""
        app = self._app
        return app is not None and app.updater is not None and app.updater.running

    async def _start_polling(self) -> None:
        app = self._app
        if app is None or app.updater is None or app.updater.running:
            return
        await app.updater.start_polling(
            poll_interval=0.0,
            timeout=timedelta(seconds=self.poll_timeout),
            allowed_updates=list(ALLOWED_UPDATES),
            error_callback=self._polling_failed,
        )

    async def _stop_polling(self) -> None:
        app = self._app
        if app is not None and app.updater is not None and app.updater.running:
            await app.updater.stop()

    async def stop(self) -> None:
        leader, self._leader = self._leader, None
        if leader is not None:
            await leader.stop()  # stops polling, and frees the lock for another instance
        app, self._app = self._app, None
        if app is not None:
            webhook, self._webhook = self._webhook, None
            if webhook is not None:
                await webhook.stop()
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
        self._log_guards.remove()

    def _build(self) -> TgApp:
        app = application(
            self._token,
            self.settings.telegram_base_url,
            self.request_timeout,
            self.flood,
            webhook=bool(self.settings.telegram_webhook_url),
        )
        app.add_handler(ChatMemberHandler(self._on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_handler(CallbackQueryHandler(self._on_tap))
        message = filters.UpdateType.MESSAGE  # not edits: an edited command must not run twice
        app.add_handler(MessageHandler(message & filters.COMMAND, self._on_command))
        app.add_handler(
            MessageHandler(message & filters.TEXT & filters.REPLY & ~filters.COMMAND, self._on_note)
        )
        # Words in a group that mention Tandem (privacy mode lets those through): for it.
        mentions = filters.Entity(MessageEntityType.MENTION) & ~filters.ChatType.PRIVATE
        group_text = filters.TEXT & ~filters.COMMAND & ~filters.REPLY
        app.add_handler(MessageHandler(message & group_text & mentions, self._on_mention))
        # Words typed to Tandem in a private chat: plain words the core answers.
        private_text = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & ~filters.REPLY
        app.add_handler(MessageHandler(message & private_text, self._on_private_text))
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self._on_migrate))
        app.add_error_handler(self._on_error)
        return app

    async def _register_commands(self, app: TgApp) -> None:
        try:
            await app.bot.set_my_commands([BotCommand(c.name, c.description) for c in REGISTRY])
        except TelegramError as err:  # the menu is a convenience; typed commands still work
            log.warning("telegram: could not register the command menu (%s)", type(err).__name__)

    @property
    def connected(self) -> bool:
        """Started and not stopped (polling or not: a second instance sends without polling)."""
        return self._app is not None and self._app.running

    @property
    def rate_limit_waits(self) -> int:
        return self.flood.waits

    def set_instances(self, n: int) -> None:
        """`n` live instances share this bot token: take 1/n of Telegram's 30 a second."""
        self.flood.share(n)

    # -- sending --

    async def send(self, msg: Outgoing) -> SendResult:
        return await self._deliver(msg)

    async def _deliver(self, msg: Outgoing, reply_to: int | None = None) -> SendResult:
        app = self._app
        if app is None:
            return SendResult(SendStatus.RETRY, reason="telegram not connected")
        if not all(sendable(b) for b in msg.buttons):
            log.error("a button's action or start payload is more than Telegram takes")
            return SendResult(SendStatus.FAILED, reason="button too long")
        progress = [msg.resume_at_part]
        try:
            sent = await self._post(app, msg, reply_to, progress)
        except TelegramError as err:
            result = replace(outcome(err), parts_sent=progress[0])
            log.info("telegram: send failed with %s (%s)", result.reason, result.status.value)
            return result
        if sent is None and not progress[0]:
            return SendResult(SendStatus.FAILED, reason="empty message")
        return replace(
            SendResult.delivered(str(sent.message_id) if sent else None), parts_sent=progress[0]
        )

    async def _post(
        self, app: TgApp, msg: Outgoing, reply_to: int | None, progress: list[int]
    ) -> Message | None:
        """Sends every part from `progress[0]` on, counting each Telegram confirms there; returns
        the last (the one with the buttons, the one to reply to).

        A retry resumes after the parts already confirmed, so a failure in the middle of a long
        message never repeats its head. A part whose request timed out after it was sent may
        have arrived all the same; it is not confirmed, so the retry sends it again: at most
        that one part can show twice, and nothing is lost.
        """
        bot, chat = app.bot, chat_ref(msg.to.chat_id)
        markup: InlineKeyboardMarkup | ForceReply | None = keyboard(msg.buttons, self.username)
        if msg.asks and markup is None:  # today's question: the reply box opens, for the words
            markup = ForceReply(selective=True, input_field_placeholder="Your answer")
        protect = True if msg.protect else None  # None leaves the parameter out
        pace = BULK if msg.bulk else None  # a scheduled delivery waits behind people's replies
        paid = True if msg.bulk and self.paid_broadcast else None  # never for a reply awaited
        replying = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        texts = split_text(msg.text)
        document = msg.attachment
        caption: str | None = None
        if document is not None and len(texts) == 1 and utf16_len(texts[0]) <= MAX_CAPTION:
            caption, texts = texts[0], []
        sent: Message | None = None
        if msg.edit is not None and msg.edit.isdigit() and len(texts) == 1 and document is None:
            # The /settings menu after a tap: the message changes in place (editMessageText).
            edited = await bot.edit_message_text(
                texts[0],
                chat_id=chat,
                message_id=int(msg.edit),
                reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
            )
            progress[0] = 1
            return edited if isinstance(edited, Message) else None
        for index, text in enumerate(texts):
            if index < progress[0]:
                continue  # delivered by an earlier attempt
            last = index == len(texts) - 1 and document is None
            sent = await bot.send_message(
                chat,
                text,
                reply_markup=markup if last else None,
                reply_parameters=replying if index == 0 else None,
                protect_content=protect,
                allow_paid_broadcast=paid,
                rate_limit_args=pace,
            )
            progress[0] = index + 1
        if document is not None and progress[0] <= len(texts):
            file = InputFile(document.data, filename=document.filename)
            # A picture is a photo (shown inline); anything else, such as the export, a document.
            send_file = bot.send_photo if document.image else bot.send_document
            sent = await send_file(
                chat,
                file,
                caption=caption,
                reply_markup=markup,
                reply_parameters=replying if not texts else None,
                protect_content=protect,
                allow_paid_broadcast=paid,
                rate_limit_args=pace,
            )
            progress[0] = len(texts) + 1
        return sent

    async def is_member(self, chat: Address, user_id: str) -> bool:
        """Whether this person is in this chat now; False unless Telegram confirms it."""
        app = self._app
        if app is None:
            return False
        try:
            member = await app.bot.get_chat_member(chat_ref(chat.chat_id), int(user_id))
        except (TelegramError, ValueError) as err:
            # "user not found", Forbidden (the bot left), or no answer: not confirmed.
            log.info("telegram: could not confirm a chat member (%s)", type(err).__name__)
            return False
        return is_present(member)

    async def delete(self, to: Address, message_ref: str) -> bool:
        """Removes a message (Telegram lets a bot delete its own, and a person's in their private
        chat with it, for 48 hours); False when Telegram says no: gone already, or too old."""
        app = self._app
        if app is None:
            return False
        try:
            return bool(await app.bot.delete_message(chat_ref(to.chat_id), int(message_ref)))
        except (TelegramError, ValueError) as err:
            log.info("telegram: could not delete a message (%s)", type(err).__name__)
            return False

    async def _reply_all(
        self, replies: Iterable[Outgoing], source: Address, reply_to: int | None
    ) -> None:
        """Sends the core's replies to something a member did, each to its own chat, acting on
        what Telegram answers. A private reply in the chat it came from quotes the member."""
        gone: set[Address] = set()
        for reply in replies:
            if reply.to in gone:
                continue
            quoting = reply_to if reply.private and reply.to == source else None
            result = await self._deliver(reply, quoting)
            if result.status is SendStatus.MOVED and result.new_address is not None:
                await self._moved(reply.to, result.new_address)
                result = await self._deliver(replace(reply, to=result.new_address))
            if result.status is SendStatus.GONE:
                # One partner blocking Tandem must not keep the others' replies from them.
                gone.add(reply.to)
                await self._handle(removed(reply.to))

    async def _handle(self, incoming: Incoming) -> list[Outgoing]:
        assert self._tandem is not None
        return await self._tandem.handle(incoming)

    async def _moved(self, old: Address, new: Address) -> None:
        assert self._tandem is not None
        await self._tandem.move(old, new)

    # -- receiving --

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None or message.text is None or message.from_user is None:
            return
        text = command_line(message.text, self.username)
        if text is None:
            return  # "/help@SomeOtherBot"
        incoming = from_member(
            message.chat, message.from_user, text=text, message_id=message.message_id
        )
        await self._reply_all(await self._handle(incoming), incoming.to, message.message_id)

    async def _on_note(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None or message.text is None or message.from_user is None:
            return
        original = message.reply_to_message
        if (
            original is None
            or original.from_user is None
            or original.from_user.id != context.bot.id
        ):
            return  # a reply to a person is their conversation, not ours
        incoming = from_member(
            message.chat,
            message.from_user,
            text=message.text,
            reply_to=str(original.message_id),
            message_id=message.message_id,
        )
        await self._reply_all(await self._handle(incoming), incoming.to, message.message_id)

    async def _on_private_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if (message := update.message) is None or message.text is None or not message.from_user:
            return
        words = mention_words(message, self.username) or message.text  # "@TandemBot Berlin"
        incoming = from_member(message.chat, message.from_user, text=words, message_id=message.id)
        await self._reply_all(await self._handle(incoming), incoming.to, message.message_id)

    async def _on_mention(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None or message.text is None or message.from_user is None:
            return
        words = mention_words(message, self.username)
        if words is None:
            return  # another bot's or a person's mention: not ours to read
        incoming = replace(
            from_member(message.chat, message.from_user, text=words, message_id=message.message_id),
            addressed=True,
        )
        await self._reply_all(await self._handle(incoming), incoming.to, message.message_id)

    async def _on_tap(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        tapped = query.message
        if tapped is None or query.data is None:
            await self._answer(query.answer())
            return
        incoming = from_member(
            tapped.chat, query.from_user, action=query.data, message_id=tapped.message_id
        )
        replies = await self._handle(incoming)
        toasts = [
            r
            for r in replies
            if r.private and r.to == incoming.to and toastable(r, incoming.direct)
        ]
        text = clip(" ".join(r.text for r in toasts), MAX_ANSWER)
        # A private "open my private chat" button: Telegram opens t.me/<bot>?start= links itself.
        start = next((b.start for r in toasts for b in r.buttons if b.start is not None), None)
        url = deep_link(self.username, start) if start is not None else None
        await self._answer(query.answer(text or None, url=url))
        rest = [r for r in replies if not any(r is t for t in toasts)]
        await self._reply_all(rest, incoming.to, None)

    @staticmethod
    async def _answer(answering: Awaitable[bool]) -> None:
        try:
            await answering
        except TelegramError as err:
            # Usually "query is too old": the tap is already recorded, only the toast is lost.
            log.info("telegram: could not answer a button tap (%s)", type(err).__name__)

    async def _on_membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        changed = update.my_chat_member
        event = membership_event(update)
        if changed is None or event is None:
            return
        # Whoever added (or blocked) the bot is a member of the chat.
        incoming = from_member(changed.chat, changed.from_user, event=event)
        await self._reply_all(await self._handle(incoming), incoming.to, None)

    async def _on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is not None and message.migrate_to_chat_id:
            await self._moved(address(message.chat_id), address(message.migrate_to_chat_id))

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        err = context.error
        frames = "".join(traceback.format_tb(err.__traceback__)) if err is not None else ""
        # The exception's text can quote a message or a note: log only its type and frames.
        log.error("telegram: an update failed with %s\n%s", type(err).__name__, frames)

    def _polling_failed(self, err: TelegramError) -> None:
        log.warning("telegram: polling failed with %s; retrying", type(err).__name__)
