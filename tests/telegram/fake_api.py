"""A fake Telegram Bot API server on 127.0.0.1: answers what Tandem calls, records it, fails on cue."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "7000001:AAE-fake-token-for-tests-0123456789"
SECRET_PART = TOKEN.partition(":")[2]
BOT_ID = 7000001
USERNAME = "TandemTestBot"
JSON_PARAMS = {"reply_markup", "allowed_updates", "commands", "reply_parameters"}
SENDS = ("sendMessage", "sendDocument", "sendPhoto")
DROPPED = 0  # Call.error when the fake was offline and dropped the connection

# Telegram's published limits (core.telegram.org/bots/api), checked on every call as Telegram
# does. Telegram documents text limits in "characters after entities parsing"; its clients and
# servers count them in UTF-16 code units (as entity offsets are), so the fake counts those too:
# an emoji outside the BMP, such as 🌱, counts 2. That is never more lenient than counting code
# points. Tandem sends no parse_mode, so its text is what is counted.
MAX_TEXT = 4096  # sendMessage text
MAX_CAPTION = 1024  # sendPhoto / sendDocument caption
MAX_ANSWER = 200  # answerCallbackQuery text
MAX_CALLBACK_DATA = 64  # bytes of UTF-8, and at least 1
MAX_BUTTONS = 100  # in one inline keyboard
SECRET_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]*")  # setWebhook secret_token, 1-256 of them
MAX_SECRET_TOKEN = 256
TEXT_TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
TEXT_EMPTY = "Bad Request: message text is empty"
ANSWER_TOO_LONG = "Bad Request: MESSAGE_TOO_LONG"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
MARKUP_TOO_LONG = "Bad Request: REPLY_MARKUP_TOO_LONG"
SECRET_TOO_LONG = "Bad Request: secret token is too long"
SECRET_UNALLOWED = "Bad Request: secret token contains unallowed characters"
CANNOT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
BLOCKED = "Forbidden: bot was blocked by the user"
NOT_FOUND_TO_DELETE = "Bad Request: message to delete not found"
CANNOT_DELETE = "Bad Request: message can't be deleted"


def utf16_units(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (2 for a character outside the BMP)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class User:
    id: int
    first_name: str

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.first_name}


@dataclass(frozen=True)
class Chat:
    id: int
    type: str = "supergroup"
    title: str = "Us"

    def json(self) -> dict[str, Any]:
        if self.type == "private":
            return {"id": self.id, "type": "private", "first_name": self.title}
        return {"id": self.id, "type": self.type, "title": self.title}


def private_chat(user: User) -> Chat:
    """A person's private chat with the bot: Telegram gives it the person's own id."""
    return Chat(user.id, "private", user.first_name)


ALICE = User(111, "Alice")
BOB = User(222, "Bob")
GROUP = Chat(-1001234)
DM = private_chat(ALICE)
BOT = {"id": BOT_ID, "is_bot": True, "first_name": "Tandem", "username": USERNAME}


@dataclass
class Call:
    """One request the bot made, with its parameters decoded (nested JSON and files too)."""

    method: str
    params: dict[str, Any]
    at: float
    error: int | None = None
    result: Any = None
    refusal: str | None = None  # Telegram's own words, when the fake refused it by its rules

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def actions(self) -> list[str]:
        """The callback_data of each button that answers in place."""
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]

    @property
    def urls(self) -> list[str]:
        """The links of URL buttons (a deep link into the bot's private chat, say)."""
        return [b["url"] for b in self.buttons if "url" in b]

    @property
    def protected(self) -> bool:
        """Sent with protect_content: the message cannot be forwarded or saved."""
        return self.params.get("protect_content") in (True, "true", "True")


@dataclass
class Failure:
    code: int
    description: str
    parameters: dict[str, Any]
    chat_id: int | None
    skip: int = 0  # calls that still pass before this one fails


@dataclass
class FloodRules:
    """Telegram-like limits, counted when a send arrives: over them, a 429 with retry_after
    (whole seconds, as Telegram gives them). A refused send does not count."""

    overall: tuple[int, float] = (30, 1.0)
    per_group: tuple[int, float] = (20, 60.0)
    arrivals: deque[float] = field(default_factory=deque)
    groups: dict[Any, deque[float]] = field(default_factory=dict)

    def admit(self, chat_id: Any, now: float) -> int | None:
        """None when the send may pass (and it is counted); else the seconds to wait."""
        waits = [_wait(self.arrivals, *self.overall, now)]
        group = self.groups.setdefault(chat_id, deque()) if _is_group(chat_id) else None
        if group is not None:
            waits.append(_wait(group, *self.per_group, now))
        wait = max(waits)
        if wait > 0:
            return max(1, math.ceil(wait))
        self.arrivals.append(now)
        if group is not None:
            group.append(now)
        return None


def _is_group(chat_id: Any) -> bool:
    return isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0)


def _wait(times: deque[float], count: int, period: float, now: float) -> float:
    while times and now - times[0] >= period:
        times.popleft()
    return times[0] + period - now if len(times) >= count else 0.0


@dataclass
class FakeBotApi:
    """Serves /bot<token>/<method>. `fail_next` and `stall_next` script trouble per method."""

    token: str = TOKEN
    hold: float = 0.25  # longest a getUpdates with nothing new is held open
    calls: list[Call] = field(default_factory=list)
    offline: bool = False  # drop every connection, as if the network went away
    # (chat_id, user_id) pairs getChatMember answers "member" for; anyone else has "left".
    members: set[tuple[int, int]] = field(default_factory=set)
    closing: bool = False
    flood: FloodRules | None = None  # Telegram-like limits on sends; None: no limits
    # Like Telegram: a getUpdates while another is held open gets 409 Conflict (two pollers).
    one_poller: bool = False
    # People whose private chat with the bot is open: Telegram lets a bot write to a person only
    # after they pressed Start (or wrote to it), and not while they block it. Any update from a
    # private chat opens it (`say`, `tap`, `membership` there); a test may also `open_private`.
    started: set[int] = field(default_factory=set)
    blocked: set[int] = field(default_factory=set)
    # Every message in a chat now, as Telegram keeps it: id -> (chat id, sent by the bot).
    # deleteMessage takes one away; the bot may delete its own, and a person's only in their
    # private chat with it (in a group that needs admin rights Tandem never asks for).
    present: dict[int, tuple[int, bool]] = field(default_factory=dict)
    deleted: list[tuple[int, int]] = field(default_factory=list)  # (chat id, message id)
    _polls: int = 0
    port: int = 0
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _failures: dict[str, deque[Failure]] = field(default_factory=dict)
    _stalls: dict[str, deque[float]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(500))
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=16 << 20)
        app.router.add_route("*", "/{path:.*}", self._serve)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.closing = True  # a held long poll answers now rather than at its timeout
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- scripting --

    def fail_next(
        self,
        method: str,
        code: int,
        description: str,
        *,
        chat_id: int | None = None,
        skip: int = 0,
        **parameters: Any,
    ) -> None:
        """The next call of `method` (to `chat_id`, if given) gets this Bot API error; with
        `skip`, the call after that many more pass."""
        failure = Failure(code, description, parameters, chat_id, skip)
        self._failures.setdefault(method, deque()).append(failure)

    def stall_next(self, method: str, seconds: float) -> None:
        self._stalls.setdefault(method, deque()).append(seconds)

    def open_private(self, *users: User | int) -> None:
        """These people pressed Start in their private chat with the bot (they may be written to)."""
        for user in users:
            user_id = user.id if isinstance(user, User) else user
            self.started.add(user_id)
            self.blocked.discard(user_id)

    def push(self, update: dict[str, Any]) -> int:
        update.setdefault("update_id", next(self._update_ids))
        self._note_private(update)
        self._updates.append(update)
        self._notify()
        return int(update["update_id"])

    def _note_private(self, update: dict[str, Any]) -> None:
        """A person who writes or taps in their private chat has started it; one who blocks the
        bot there (my_chat_member "kicked") is blocked until they start it again."""
        found: Any = update.get("message") or update.get("my_chat_member")
        if isinstance(update.get("callback_query"), dict):
            found = update["callback_query"].get("message")
        chat = found.get("chat") if isinstance(found, dict) else None
        if not isinstance(chat, dict) or chat.get("type") != "private":
            return
        user_id = chat.get("id")
        if not isinstance(user_id, int):
            return
        changed = update.get("my_chat_member")
        if (
            isinstance(changed, dict)
            and changed.get("new_chat_member", {}).get("status") == "kicked"
        ):
            self.started.discard(user_id)
            self.blocked.add(user_id)
        else:
            self.open_private(user_id)

    # -- what members do --

    def say(
        self, text: str, *, user: User = ALICE, chat: Chat = GROUP, reply_to: int | None = None
    ) -> int:
        """A member writes; returns the new message's id (to reply to it)."""
        update = self.message_update(text, user=user, chat=chat, reply_to=reply_to)
        self.push(update)
        return int(update["message"]["message_id"])

    def message_update(
        self, text: str, *, user: User = ALICE, chat: Chat = GROUP, reply_to: int | None = None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": chat.json(),
            "from": user.json(),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split(None, 1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        mentions = [
            {
                "type": "mention",
                "offset": len(text[: m.start()].encode("utf-16-le")) // 2,
                "length": len(m[0].encode("utf-16-le")) // 2,
            }
            for m in re.finditer(r"@\w+", text)
        ]
        if mentions and not text.startswith("/"):
            message["entities"] = mentions
        if reply_to is not None:
            message["reply_to_message"] = self.message(reply_to)
        self.present[message["message_id"]] = (chat.id, False)
        update = {"update_id": next(self._update_ids), "message": message}
        self._note_private(update)  # pushed here or posted to a webhook: they wrote to the bot
        return update

    def tap(self, message_id: int, data: str, *, user: User = ALICE) -> str:
        query_id = f"q{next(self._ids)}"
        query = {
            "id": query_id,
            "from": user.json(),
            "chat_instance": "ci-1",
            "message": self.message(message_id),
            "data": data,
        }
        self.push({"callback_query": query})
        return query_id

    def membership(self, old: str, new: str, *, chat: Chat = GROUP, user: User = ALICE) -> None:
        def member(status: str) -> dict[str, Any]:
            return {
                "status": status,
                "user": BOT,
                **({"until_date": 0} if status == "kicked" else {}),
            }

        changed = {
            "chat": chat.json(),
            "from": user.json(),
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        self.push({"my_chat_member": changed})

    def service(self, chat: Chat, **fields: Any) -> None:
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": chat.json(),
            **fields,
        }
        self.push({"message": message})

    # -- reading what the bot did --

    def message(self, message_id: int) -> dict[str, Any]:
        """A message the bot sent (as Telegram returned it), or a stub for one of ours."""
        for call in self.calls:
            if isinstance(call.result, dict) and call.result.get("message_id") == message_id:
                return dict(call.result)
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": GROUP.json(),
            "from": BOT,
        }

    def of(self, method: str, *, chat_id: int | None = None, ok: bool = True) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method
            and (chat_id is None or c.chat_id == chat_id)
            and (c.error is None) == ok
        ]

    def over_limits(self) -> list[Call]:
        """Calls refused for breaking one of Telegram's limits (a 400, not a chat's 403)."""
        return [c for c in self.calls if c.refusal is not None and c.error == 400]

    def dropped(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.error == DROPPED]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Messages and documents delivered (not the failed attempts), oldest first."""
        return [
            c
            for c in self.calls
            if c.method in SENDS and c.error is None and (chat_id is None or c.chat_id == chat_id)
        ]

    async def wait_for(self, check: Callable[[], Any], within: float = 5.0) -> Any:
        """Waits until `check()` is truthy (re-checked on every call the bot makes); returns it."""
        assert self._changed is not None
        async with asyncio.timeout(within), self._changed:
            while not (found := check()):
                await self._changed.wait()
            return found

    async def replies(
        self, count: int = 1, *, chat_id: int = GROUP.id, after: int = 0
    ) -> list[Call]:
        """The next `count` messages delivered to `chat_id` after call number `after`."""

        def ready() -> list[Call] | None:
            new = [c for c in self.sent(chat_id) if self.calls.index(c) >= after]
            return new[:count] if len(new) >= count else None

        found: list[Call] = await self.wait_for(ready)
        return found

    # -- serving --

    def _notify(self) -> None:
        async def wake() -> None:
            assert self._changed is not None
            async with self._changed:
                self._changed.notify_all()

        asyncio.get_running_loop().create_task(wake())

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        token_part, _, method = request.match_info["path"].partition("/")
        now = asyncio.get_running_loop().time()
        if self.offline:
            self.calls.append(Call(method, {}, now, error=DROPPED))
            self._notify()
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        if token_part != f"bot{self.token}":
            return _error(401, "Unauthorized")
        params = await _params(request)
        call = Call(method, params, now)
        self.calls.append(call)
        stalls = self._stalls.get(method)
        if stalls:
            await asyncio.sleep(stalls.popleft())
        # A scripted failure first (the test asked for it), then Telegram's own refusals, then
        # its flood limits: a refused send does not count towards them.
        failure = self._take_failure(method, params.get("chat_id"))
        if failure is not None:
            call.error = failure.code
            self._notify()
            return _error(failure.code, failure.description, failure.parameters)
        # A message to delete that is not there is no limit broken: it is refused, not counted.
        gone = self._delete_refusal(params) if method == "deleteMessage" else None
        if gone is not None:
            call.error = gone[0]
            self._notify()
            return _error(*gone)
        refusal = self._refusal(method, params)
        if refusal is not None:
            call.error, call.refusal = refusal
            self._notify()
            return _error(call.error, call.refusal)
        if self.flood is not None and method in SENDS:
            wait = self.flood.admit(params.get("chat_id"), asyncio.get_running_loop().time())
            if wait is not None:
                call.error = 429
                self._notify()
                return _error(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        if self.one_poller and method == "getUpdates" and self._polls:
            call.error = 409
            self._notify()
            return _error(409, "Conflict: terminated by other getUpdates request")
        self._polls += method == "getUpdates"
        try:
            call.result = await self._answer(method, params)
        except KeyError:
            call.error = 404
            self._notify()
            return _error(404, "Not Found: method not found")
        finally:
            self._polls -= method == "getUpdates"
        self._notify()
        return web.json_response({"ok": True, "result": call.result})

    def _refusal(self, method: str, params: dict[str, Any]) -> tuple[int, str] | None:
        """What Telegram itself refuses, in its own words: (error code, description)."""
        if method in SENDS:
            chat_id = params.get("chat_id")
            if isinstance(chat_id, int) and chat_id > 0:  # a person's private chat
                if chat_id in self.blocked:
                    return 403, BLOCKED
                if chat_id not in self.started:
                    return 403, CANNOT_INITIATE
            if method == "sendMessage":
                text = str(params.get("text") or "")
                if not text.strip():
                    return 400, TEXT_EMPTY
                if utf16_units(text) > MAX_TEXT:
                    return 400, TEXT_TOO_LONG
            elif utf16_units(str(params.get("caption") or "")) > MAX_CAPTION:
                return 400, CAPTION_TOO_LONG
            return _markup_refusal(params.get("reply_markup"))
        answer = str(params.get("text") or "") if method == "answerCallbackQuery" else ""
        if utf16_units(answer) > MAX_ANSWER:
            return 400, ANSWER_TOO_LONG
        if method == "setWebhook":
            secret = str(params.get("secret_token") or "")  # empty or left out: no secret
            if len(secret) > MAX_SECRET_TOKEN:
                return 400, SECRET_TOO_LONG
            if not SECRET_TOKEN_CHARS.fullmatch(secret):
                return 400, SECRET_UNALLOWED
        return None

    def _delete_refusal(self, params: dict[str, Any]) -> tuple[int, str] | None:
        found = self.present.get(params.get("message_id", 0))
        if found is None or found[0] != params.get("chat_id"):
            return 400, NOT_FOUND_TO_DELETE
        chat_id, by_bot = found
        if not by_bot and chat_id < 0:
            return 400, CANNOT_DELETE
        return None

    def _take_failure(self, method: str, chat_id: Any) -> Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        for failure in queue:
            if failure.chat_id is None or failure.chat_id == chat_id:
                if failure.skip:
                    failure.skip -= 1
                    return None
                queue.remove(failure)
                return failure
        return None

    async def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                **BOT,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method == "getUpdates":
            return await self._get_updates(params)
        if method in ("setMyCommands", "deleteWebhook", "setWebhook", "answerCallbackQuery"):
            return True
        if method in SENDS:
            return self._sent_message(method, params)
        if method == "getChatMember":
            return self._chat_member(params)
        if method == "editMessageText":
            return self._edited(params)
        if method == "deleteMessage":
            del self.present[params["message_id"]]
            self.deleted.append((params["chat_id"], params["message_id"]))
            return True
        raise KeyError(method)

    def _edited(self, params: dict[str, Any]) -> dict[str, Any]:
        """editMessageText: Telegram edits only a message of the bot's that is there."""
        message_id, chat_id = int(params["message_id"]), params["chat_id"]
        if self.present.get(message_id) != (chat_id, True):
            raise KeyError(message_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": Chat(chat_id, "private" if chat_id > 0 else "supergroup").json(),
            "from": BOT,
            "text": params["text"],
        }
        if "inline_keyboard" in (params.get("reply_markup") or {}):
            message["reply_markup"] = params["reply_markup"]
        return message

    def _chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = int(params["user_id"])
        present = (params["chat_id"], user_id) in self.members
        user = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        return {"status": "member" if present else "left", "user": user}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        # Telegram forgets every update below the offset: they are confirmed.
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            wait = min(float(params.get("timeout") or 0), self.hold)
            assert self._changed is not None
            try:
                async with asyncio.timeout(wait), self._changed:
                    while not self._updates and not self.closing:
                        await self._changed.wait()
            except TimeoutError:
                pass
        return self._updates[:100]

    def _sent_message(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params["chat_id"]
        chat = Chat(chat_id, "private" if chat_id > 0 else "supergroup")
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": chat.json(),
            "from": BOT,
        }
        if method == "sendMessage":
            message["text"] = params["text"]
        elif method == "sendPhoto":
            # Telegram answers a photo with its sizes; the tests read the uploaded bytes.
            photo = params["photo"]
            message["photo"] = [
                {"file_id": "p1", "file_unique_id": "pu1", "width": 640, "height": 256}
            ]
            assert photo["data"], "an empty photo upload"
            if params.get("caption"):
                message["caption"] = params["caption"]
        else:
            document = params["document"]
            message["document"] = {
                "file_id": "f1",
                "file_unique_id": "u1",
                "file_name": document["filename"],
            }
            if params.get("caption"):
                message["caption"] = params["caption"]
        if "inline_keyboard" in (params.get("reply_markup") or {}):
            # Telegram returns an inline keyboard with its message; a reply box (ForceReply) not.
            message["reply_markup"] = params["reply_markup"]
        self.present[message["message_id"]] = (chat_id, True)
        return message


async def _params(request: web.Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            raw.update(await request.json())
        else:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    raw[key] = {"filename": value.filename, "data": value.file.read()}
                else:
                    raw[key] = value
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in JSON_PARAMS and isinstance(value, str):
            params[key] = json.loads(value)
        elif key in ("chat_id", "user_id", "offset", "limit", "message_id") and isinstance(
            value, str
        ):
            params[key] = int(value) if value.lstrip("-").isdigit() else value
        else:
            params[key] = value
    return params


def _markup_refusal(markup: Any) -> tuple[int, str] | None:
    """An inline keyboard Telegram refuses: over 100 buttons, or callback_data outside 1-64 bytes."""
    if not isinstance(markup, dict):
        return None
    buttons = [b for row in markup.get("inline_keyboard", []) for b in row]
    if len(buttons) > MAX_BUTTONS:
        return 400, MARKUP_TOO_LONG
    for button in buttons:
        if "callback_data" in button:
            size = len(str(button["callback_data"]).encode())
            if not 1 <= size <= MAX_CALLBACK_DATA:
                return 400, BUTTON_DATA_INVALID
    return None


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)
