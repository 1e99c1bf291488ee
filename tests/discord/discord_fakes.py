"""A fake Discord on 127.0.0.1: the REST routes the adapter uses, a minimal gateway, what each person
saw, and the refusals Discord would give: its limits on a message, and its interaction deadlines."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = 900_000_000_000_000_001  # a bot user's id is its application's id
GUILD_ID = 800_000_000_000_000_001
EPHEMERAL = 64

# Discord's limits, as its API enforces them (a message, its components, an interaction's token).
MAX_CONTENT = 2000  # a message's content
MAX_CUSTOM_ID = 100  # a component's (or a modal's) custom_id
MAX_LABEL = 80  # a button's label
MAX_ROWS = 5  # action rows in one message
MAX_PER_ROW = 5  # buttons in one action row
ACK_WINDOW = 3.0  # seconds from dispatch to the interaction's first response (acknowledgement)
TOKEN_LIFETIME = 15 * 60.0  # seconds an interaction's token takes follow-ups and edits
INVALID_FORM = 50035  # "Invalid Form Body", with the field and the broken rule under "errors"
UNKNOWN_INTERACTION = 10062  # acknowledged too late: Discord has dropped the interaction
ALREADY_ACKNOWLEDGED = 40060  # a second first response to the same interaction
UNKNOWN_WEBHOOK = 10015  # a follow-up or edit before the interaction was acknowledged
INVALID_WEBHOOK_TOKEN = 50027  # a follow-up or edit after the token's 15 minutes
UNKNOWN_MESSAGE = 10008  # deleting a message that is not there (gone already, or ephemeral)

VIEW, SEND, MANAGE_CHANNELS, HISTORY, APP_COMMANDS = 1 << 10, 1 << 11, 1 << 4, 1 << 16, 1 << 31
MEMBER = VIEW | SEND | HISTORY | APP_COMMANDS


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    permissions: int = MEMBER  # in the channel, as Discord computes them for an interaction

    def user(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.name.lower(),
            "global_name": self.name,
            "discriminator": "0",
            "avatar": None,
        }


@dataclass(frozen=True)
class Channel:
    id: int
    name: str
    guild_id: int | None = GUILD_ID  # None: a DM with the bot

    def payload(self) -> dict[str, Any]:
        if self.guild_id is None:
            return {"id": str(self.id), "type": 1, "recipients": []}
        return {
            "id": str(self.id),
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        }


BOT = Person(APP_ID, "Tandem")
ALICE = Person(100_000_000_000_000_001, "Alice")
BOB = Person(100_000_000_000_000_002, "Bob")
EVE = Person(100_000_000_000_000_003, "Eve")  # in the server, not in the couple
MODERATOR = Person(100_000_000_000_000_004, "Mo", MEMBER | MANAGE_CHANNELS)
HOME = Channel(700_000_000_000_000_001, "us-two")
LOUNGE = Channel(700_000_000_000_000_002, "lounge")
DM = Channel(700_000_000_000_000_009, "dm", guild_id=None)


def message_payload(
    message_id: int, channel_id: int, author: dict[str, Any], content: str
) -> dict[str, Any]:
    """A message as Discord's REST answers and its gateway sends it (no files, no components)."""
    return {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "author": author,
        "content": content,
        "timestamp": "2026-11-21T12:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
    }


@dataclass
class Post:
    """Something the bot showed: a channel message, or an interaction's reply or follow-up."""

    kind: str  # message, reply, followup, thinking, modal, choices
    channel_id: int
    content: str = ""
    ephemeral: bool = False
    user_id: int | None = None  # who the interaction was from (an ephemeral post's only reader)
    interaction_id: int | None = None
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, custom_id)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    message_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)  # a modal's or autocomplete's payload
    deleted: bool = False

    @property
    def shown(self) -> bool:
        return self.kind in ("message", "reply", "followup") and not self.deleted


@dataclass(frozen=True)
class Reply:
    """A scripted REST answer: an HTTP error, or `drop=True` to cut the connection."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    normal: bool = False  # answered as usual: lets a script fail a later post, not this one


OK = Reply(normal=True)


@dataclass(frozen=True)
class Refusal:
    """A request the fake refused because Discord would: too long, too many, too late."""

    route: str  # message, callback, followup, edit, delete
    status: int
    code: int
    errors: dict[str, Any] = field(default_factory=dict)  # for 50035: which field broke which rule


def error(status: int, code: int, message: str = "error") -> Reply:
    return Reply(status, {"code": code, "message": message})


def rate_limited(retry_after: float) -> Reply:
    # Without a Via header discord.py takes a 429 for a Cloudflare ban.
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
    return Reply(429, body, {"Via": "1.1 google", "Retry-After": str(retry_after)})


def as_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py reads JSON only when Content-Type is exactly application/json (no charset).
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class FakeDiscord:
    """Discord's REST API and gateway, as far as Tandem uses them; it keeps a timeline of posts."""

    def __init__(self) -> None:
        self.timeline: list[Post] = []
        self.requests: list[tuple[str, str]] = []
        self.synced: dict[int | None, list[dict[str, Any]]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.guilds: list[dict[str, Any]] = [guild_payload(GUILD_ID, [HOME, LOUNGE])]
        self.token_valid = True
        self.bot_permissions = MEMBER  # the bot's own permissions in the interaction's channel
        self.gateway_open = asyncio.Event()
        self.gateway_open.set()
        self._scripts: dict[int, deque[Reply]] = {}
        self._ids = itertools.count(1_000_000_000_000_000_001)
        self._seq = 0
        self._ws: web.WebSocketResponse | None = None
        self._connected = asyncio.Event()
        self._originals: dict[str, Post] = {}  # interaction token -> its first response
        self._tokens: dict[str, tuple[int, int, int]] = {}  # token -> (interaction, channel, user)
        self._used_on: dict[int, int] = {}  # interaction -> the message whose component was used
        self._answered: dict[int, asyncio.Event] = {}
        self._dispatched: dict[int, float] = {}  # interaction -> when Discord sent it (monotonic)
        self._acknowledged: set[int] = set()
        self.acknowledged_as: dict[int, str] = {}  # interaction -> its first response's kind
        self.refused: list[Refusal] = []
        self._runner: web.AppRunner | None = None
        self._people: dict[int, Person] = {}
        self.dms: dict[int, Channel] = {ALICE.id: DM}  # person -> their DM channel with the bot
        self.port = 0

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    # Server

    async def start(self) -> None:
        app = web.Application()
        api = "/api/v10"
        app.router.add_get("/ws/", self._gateway)
        app.router.add_get(f"{api}/users/@me", self._me)
        app.router.add_get(f"{api}/oauth2/applications/@me", self._application)
        app.router.add_get(f"{api}/gateway", self._gateway_url)
        app.router.add_get(f"{api}/gateway/bot", self._gateway_url)
        app.router.add_put(f"{api}/applications/{{app}}/commands", self._sync)
        app.router.add_put(f"{api}/applications/{{app}}/guilds/{{guild}}/commands", self._sync)
        app.router.add_post(f"{api}/channels/{{channel}}/messages", self._channel_message)
        app.router.add_delete(
            f"{api}/channels/{{channel}}/messages/{{message}}", self._delete_message
        )
        app.router.add_post(f"{api}/users/@me/channels", self._open_dm)
        app.router.add_post(f"{api}/interactions/{{id}}/{{token}}/callback", self._callback)
        app.router.add_post(f"{api}/webhooks/{{app}}/{{token}}", self._followup)
        app.router.add_patch(f"{api}/webhooks/{{app}}/{{token}}/messages/@original", self._edit)
        app.router.add_delete(f"{api}/webhooks/{{app}}/{{token}}/messages/@original", self._delete)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        self.gateway_open.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def script(self, channel_id: int, *replies: Reply) -> None:
        """Answers the next posts to this channel with these replies, then normally again."""
        self._scripts.setdefault(channel_id, deque()).extend(replies)

    def dm(self, person: Person) -> Channel:
        """This person's DM channel with the bot (Discord gives each pair one, for good)."""
        if person.id not in self.dms:
            self.dms[person.id] = Channel(next(self._ids), f"dm-{person.name}", guild_id=None)
        return self.dms[person.id]

    def channel(self, channel_id: int) -> Channel:
        dms = {c.id: c for c in self.dms.values()}
        return dms.get(channel_id) or Channel(channel_id, "", GUILD_ID)

    def posts_to(self, channel_id: int) -> int:
        """How many times the bot tried to post a message in this channel."""
        path = f"/api/v10/channels/{channel_id}/messages"
        return sum(1 for method, p in self.requests if method == "POST" and p == path)

    # What people see

    def public(self, channel: Channel) -> list[str]:
        return [
            p.content
            for p in self.timeline
            if p.channel_id == channel.id and p.shown and not p.ephemeral
        ]

    def private(self, person: Person) -> list[str]:
        return [
            p.content for p in self.timeline if p.user_id == person.id and p.shown and p.ephemeral
        ]

    def last_message(self, channel: Channel) -> Post:
        return [p for p in self.timeline if p.channel_id == channel.id and p.kind == "message"][-1]

    def find(self, channel: Channel, containing: str) -> Post:
        """The newest post shown in the channel whose text contains these words."""
        return [
            p
            for p in self.timeline
            if p.channel_id == channel.id and p.shown and containing in p.content
        ][-1]

    def thinking(self) -> list[Post]:
        """Deferred "thinking…" responses nobody settled: a member would see them spin forever."""
        return [p for p in self.timeline if p.kind == "thinking" and not p.deleted]

    async def answered(self, interaction_id: int) -> None:
        """Waits for the bot's first response to an interaction (Discord allows it 3 s)."""
        event = self._answered.setdefault(interaction_id, asyncio.Event())
        await asyncio.wait_for(event.wait(), 5)

    def backdate(self, interaction: dict[str, Any], seconds: float) -> None:
        """Makes this interaction older: Discord sent it `seconds` before it reached the bot."""
        self._dispatched[int(interaction["id"])] -= seconds

    def take_refusals(self) -> list[Refusal]:
        """What the fake refused so far (a test that expects refusals takes them, see conftest)."""
        refused, self.refused = self.refused, []
        return refused

    # Gateway

    async def push(self, event: str, data: dict[str, Any]) -> None:
        await asyncio.wait_for(self._connected.wait(), 5)
        assert self._ws is not None
        if event == "INTERACTION_CREATE":
            self._dispatched[int(data["id"])] = time.monotonic()  # Discord's 3 s start now
        await self._dispatch(self._ws, event, data)

    async def drop_gateway(self, *, reopen: bool) -> None:
        """Closes the bot's gateway socket; with reopen=False, new ones wait for `reopen_gateway`."""
        if not reopen:
            self.gateway_open.clear()
        self._connected.clear()
        if self._ws is not None:
            await self._ws.close(code=4000)

    def reopen_gateway(self) -> None:
        self.gateway_open.set()

    async def connected(self) -> None:
        await asyncio.wait_for(self._connected.wait(), 5)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await self.gateway_open.wait()
        # Plain text frames: discord.py only inflates binary ones, so compression can stay off.
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45_000}})
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            if frame["op"] == 1:
                await ws.send_json({"op": 11})
            elif frame["op"] == 2:
                self.identifies.append(frame["d"])
                await self._ready(ws, frame["d"].get("shard"))
            elif frame["op"] == 6:
                self.resumes.append(frame["d"])
                self._ws = ws
                await self._dispatch(ws, "RESUMED", {})
                self._connected.set()
        return ws

    async def _ready(self, ws: web.WebSocketResponse, shard: list[int] | None = None) -> None:
        self._ws = ws
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**BOT.user(), "bot": True},
            "guilds": [{"id": g["id"], "unavailable": True} for g in self.guilds],
            "session_id": "session-1",
            "resume_gateway_url": self.gateway,
            "application": {"id": str(APP_ID), "flags": 0},
        }
        if shard is not None:  # as Discord does: the shard the session identified with
            ready["shard"] = shard
        await self._dispatch(ws, "READY", ready)
        for guild in self.guilds:
            await self._dispatch(ws, "GUILD_CREATE", {**guild, "unavailable": False})
        self._connected.set()

    async def _dispatch(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        self._seq += 1
        await ws.send_json({"op": 0, "t": event, "s": self._seq, "d": data})

    # REST

    async def _me(self, request: web.Request) -> web.Response:
        if not self.token_valid:
            return as_json({"message": "401: Unauthorized", "code": 0}, 401)
        return as_json({**BOT.user(), "bot": True, "flags": 0})

    async def _application(self, request: web.Request) -> web.Response:
        return as_json(
            {
                "id": str(APP_ID),
                "name": "Tandem",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": BOT.user(),
            }
        )

    async def _gateway_url(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return as_json({"url": self.gateway, "shards": 1, "session_start_limit": limit})

    async def _sync(self, request: web.Request) -> web.Response:
        commands = await request.json()
        guild = request.match_info.get("guild")
        self.synced[int(guild) if guild else None] = commands
        return as_json(
            [
                {**c, "id": str(next(self._ids)), "application_id": str(APP_ID), "version": "1"}
                for c in commands
            ]
        )

    async def _channel_message(self, request: web.Request) -> web.StreamResponse:
        channel_id = int(request.match_info["channel"])
        self.requests.append((request.method, request.path))
        queue = self._scripts.get(channel_id)
        if queue and queue[0].normal:
            queue.popleft()
        elif queue:
            reply = queue.popleft()
            if reply.drop:
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            return as_json(reply.body or {}, reply.status, reply.headers)
        payload, files = await self._body(request)
        errors = form_errors(payload)
        if int(payload.get("flags") or 0) & EPHEMERAL:
            # Only an interaction's response or follow-up can be ephemeral. Discord's docs allow
            # just SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, IS_VOICE_MESSAGE and IS_COMPONENTS_V2
            # on a channel post; it never makes one private (the flag is ignored or refused). The
            # fake refuses it with 400 50035, so a private answer can never pass for a channel post.
            errors["flags"] = rule("MESSAGE_FLAGS_INVALID", "Ephemeral only in an interaction.")
        if errors:
            return self._refuse("message", 400, INVALID_FORM, "Invalid Form Body", errors)
        post = self._record("message", channel_id, payload, files)
        return as_json(self.messages[post.message_id or 0])

    async def _delete_message(self, request: web.Request) -> web.Response:
        """A message of the bot's own goes; an ephemeral one has no place in the channel to go
        from, and one already gone is unknown (404 10008), as Discord answers."""
        self.requests.append((request.method, request.path))
        channel_id, message_id = (
            int(request.match_info["channel"]),
            int(request.match_info["message"]),
        )
        found = [
            p
            for p in self.timeline
            if p.message_id == message_id
            and p.channel_id == channel_id
            and p.shown
            and not p.ephemeral
        ]
        if not found:
            return as_json({"code": UNKNOWN_MESSAGE, "message": "Unknown Message"}, 404)
        found[0].deleted = True
        return web.Response(status=204)

    async def _open_dm(self, request: web.Request) -> web.Response:
        # Opening a DM always works, closed or not; only posting in it can fail (50007).
        self.requests.append((request.method, request.path))
        person = self._people[int((await request.json())["recipient_id"])]
        channel = self.dm(person)
        return as_json({"id": str(channel.id), "type": 1, "recipients": [person.user()]})

    async def _callback(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        interaction_id, token = int(request.match_info["id"]), request.match_info["token"]
        self.requests.append((request.method, request.path))
        payload, files = await self._body(request)
        kind = {4: "reply", 5: "thinking", 7: "update", 8: "choices", 9: "modal"}[payload["type"]]
        data = payload.get("data") or {}
        if interaction_id in self._acknowledged:
            return self._refuse(
                "callback",
                400,
                ALREADY_ACKNOWLEDGED,
                "Interaction has already been acknowledged.",
            )
        if arrived - self._dispatched[interaction_id] > ACK_WINDOW:
            return self._refuse("callback", 404, UNKNOWN_INTERACTION, "Unknown interaction")
        if errors := form_errors(data):
            return self._refuse("callback", 400, INVALID_FORM, "Invalid Form Body", errors)
        self._acknowledged.add(interaction_id)
        self.acknowledged_as[interaction_id] = kind
        _, channel_id, user_id = self._tokens[token]
        if kind == "update":  # UPDATE_MESSAGE: the message whose component was used changes
            return self._update(interaction_id, channel_id, user_id, data)
        post = self._record(kind, channel_id, data, files, user_id, interaction_id)
        self._originals[token] = post
        self._answered.setdefault(interaction_id, asyncio.Event()).set()
        body: dict[str, Any] = {
            "interaction": {
                "id": str(interaction_id),
                "type": 2,
                "response_message_id": str(post.message_id),
                "response_message_loading": kind == "thinking",
                "response_message_ephemeral": post.ephemeral,
            }
        }
        if kind in ("reply", "thinking"):
            body["resource"] = {
                "type": payload["type"],
                "message": self.messages[post.message_id or 0],
            }
        return as_json(body)

    def _update(
        self, interaction_id: int, channel_id: int, user_id: int, data: dict[str, Any]
    ) -> web.Response:
        message_id = self._used_on[interaction_id]
        components = data.get("components") or []
        for post in self.timeline:
            if post.message_id == message_id:
                post.content = data.get("content") or ""
                post.buttons = buttons_of(components)
                post.data = {**post.data, "components": components}
        self.messages[message_id].update(content=data.get("content") or "", components=components)
        # The timeline notes the edit; it is no new message (Post.shown is False for it).
        update = Post("update", channel_id, data.get("content") or "", user_id=user_id)
        update.message_id, update.data, update.interaction_id = message_id, data, interaction_id
        update.buttons = buttons_of(components)
        self.timeline.append(update)
        self._answered.setdefault(interaction_id, asyncio.Event()).set()
        return as_json({"interaction": {"id": str(interaction_id), "type": 3}})

    async def _followup(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        token = request.match_info["token"]
        _, channel_id, user_id = self._tokens[token]
        payload, files = await self._body(request)
        if (refused := self._webhook_refusal("followup", token, payload)) is not None:
            return refused
        post = self._record("followup", channel_id, payload, files, user_id)
        return as_json(self.messages[post.message_id or 0])

    async def _edit(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        token = request.match_info["token"]
        payload, files = await self._body(request)
        if (refused := self._webhook_refusal("edit", token, payload)) is not None:
            return refused
        post = self._originals[token]
        post.kind = "reply"
        post.content = payload.get("content") or ""
        post.buttons = buttons_of(payload.get("components") or [])
        post.data["components"] = payload.get("components") or []
        post.files = files
        self.messages[post.message_id or 0].update(
            content=post.content, components=payload.get("components") or []
        )
        return as_json(self.messages[post.message_id or 0])

    async def _delete(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        token = request.match_info["token"]
        if (refused := self._webhook_refusal("delete", token, {})) is not None:
            return refused
        self._originals[token].deleted = True
        return web.Response(status=204)

    def _webhook_refusal(
        self, route: str, token: str, payload: dict[str, Any]
    ) -> web.Response | None:
        """Follow-ups and edits go through the interaction's token: only once the interaction was
        acknowledged, for 15 minutes from its dispatch, and within a message's limits."""
        interaction_id = self._tokens[token][0]
        if time.monotonic() - self._dispatched[interaction_id] > TOKEN_LIFETIME:
            return self._refuse(route, 401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        if interaction_id not in self._acknowledged:
            return self._refuse(route, 404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        if errors := form_errors(payload):
            return self._refuse(route, 400, INVALID_FORM, "Invalid Form Body", errors)
        return None

    def _refuse(
        self, route: str, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> web.Response:
        self.refused.append(Refusal(route, status, code, errors or {}))
        body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            body["errors"] = errors
        return as_json(body, status)

    @staticmethod
    async def _body(request: web.Request) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            files = [
                (f.filename, f.file.read())
                for name, f in form.items()
                if name.startswith("files[") and isinstance(f, web.FileField)
            ]
            return json.loads(str(form["payload_json"])), files
        if request.can_read_body:
            return await request.json(), []
        return {}, []

    def _record(
        self,
        kind: str,
        channel_id: int,
        payload: dict[str, Any],
        files: list[tuple[str, bytes]],
        user_id: int | None = None,
        interaction_id: int | None = None,
    ) -> Post:
        message_id = next(self._ids)
        components = payload.get("components") or []
        flags = int(payload.get("flags") or 0)
        post = Post(
            kind,
            channel_id,
            content=payload.get("content") or "",
            ephemeral=bool(flags & EPHEMERAL),
            user_id=user_id,
            interaction_id=interaction_id,
            buttons=buttons_of(components),
            files=files,
            message_id=message_id,
            data=payload,
        )
        self.timeline.append(post)
        self.messages[message_id] = {
            **message_payload(message_id, channel_id, {**BOT.user(), "bot": True}, post.content),
            "attachments": [
                {
                    "id": str(next(self._ids)),
                    "filename": name,
                    "size": len(data),
                    "url": "",
                    "proxy_url": "",
                }
                for name, data in files
            ],
            "flags": flags,
            "components": components,
        }
        return post

    # Gateway events, as Discord would send them

    def typed(self, person: Person, channel: Channel, content: str) -> dict[str, Any]:
        """A MESSAGE_CREATE for a message someone typed (in a DM with the bot, say)."""
        return message_payload(next(self._ids), channel.id, person.user(), content)

    # Interactions, as Discord would send them

    def interaction(
        self,
        kind: int,
        person: Person,
        channel: Channel,
        data: dict[str, Any],
        message_id: int | None = None,
    ) -> dict[str, Any]:
        self._people[person.id] = person
        interaction_id = next(self._ids)
        token = f"interaction-token-{interaction_id}"
        self._tokens[token] = (interaction_id, channel.id, person.id)
        self._dispatched[interaction_id] = time.monotonic()  # pushing it again restarts the clock
        if message_id is not None:
            self._used_on[interaction_id] = message_id
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": kind,
            "token": token,
            "version": 1,
            "data": data,
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "app_permissions": str(self.bot_permissions),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "context": 0 if channel.guild_id else 1,
        }
        if channel.guild_id is None:
            payload["user"] = person.user()
            payload["authorizing_integration_owners"] = {"0": str(GUILD_ID)}
        else:
            payload["guild_id"] = str(channel.guild_id)
            payload["guild_locale"] = "en-US"
            payload["authorizing_integration_owners"] = {"0": str(channel.guild_id)}
            payload["member"] = {
                "user": person.user(),
                "roles": [],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "permissions": str(person.permissions),
                "nick": None,
                "deaf": False,
                "mute": False,
                "flags": 0,
            }
        if message_id is not None:
            payload["message"] = self.messages[message_id]
        return payload

    def command(
        self, name: str, person: Person, channel: Channel, **options: Any
    ) -> dict[str, Any]:
        return self.interaction(2, person, channel, command_data(name, options))

    def autocomplete(
        self, name: str, person: Person, channel: Channel, focused: str, **options: Any
    ) -> dict[str, Any]:
        data = command_data(name, options)
        for option in data["options"]:
            if option["name"] == focused:
                option["focused"] = True
        return self.interaction(4, person, channel, data)

    def tap(self, person: Person, post: Post, label: str) -> dict[str, Any]:
        # A score's button reads "4 · mostly": a test may name it by its number.
        [custom_id] = [c for text, c in post.buttons if label in (text, text.split(" · ")[0])]
        data = {"custom_id": custom_id, "component_type": 2}
        return self.interaction(3, person, self.channel(post.channel_id), data, post.message_id)

    def choose(self, person: Person, post: Post, label: str) -> dict[str, Any]:
        """An option picked in a post's select menu (component type 3), by its label."""
        [(custom_id, value)] = [
            (menu["custom_id"], option["value"])
            for menu in selects_of(post)
            for option in menu["options"]
            if option["label"] == label
        ]
        data = {"custom_id": custom_id, "component_type": 3, "values": [value]}
        return self.interaction(3, person, self.channel(post.channel_id), data, post.message_id)

    def submit(self, person: Person, modal: Post, text: str) -> dict[str, Any]:
        note = {"type": 4, "id": 2, "custom_id": "note", "value": text}
        data = {
            "custom_id": modal.data["custom_id"],
            "components": [{"type": 18, "id": 1, "component": note}],
        }
        return self.interaction(5, person, self.channel(modal.channel_id), data)


def command_data(name: str, options: dict[str, Any]) -> dict[str, Any]:
    kinds = {str: 3, int: 4}
    return {
        "id": str(APP_ID + 1),
        "name": name,
        "type": 1,
        "options": [
            {"name": key, "type": kinds[type(value)], "value": value}
            for key, value in options.items()
            if value is not None
        ],
    }


def rule(code: str, message: str) -> dict[str, Any]:
    """One broken rule, as Discord lists it under a field in a 50035's "errors"."""
    return {"_errors": [{"code": code, "message": message}]}


def too_long(limit: int) -> dict[str, Any]:
    return rule("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def form_errors(payload: dict[str, Any]) -> dict[str, Any]:
    """What Discord would find wrong with a message's (or a modal's) body, keyed as it keys them:
    {"components": {"0": {"components": {"1": {"label": {"_errors": [...]}}}}}}."""
    errors: dict[str, Any] = {}
    content = payload.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        errors["content"] = too_long(MAX_CONTENT)
    if len(str(payload.get("custom_id") or "")) > MAX_CUSTOM_ID:
        errors["custom_id"] = too_long(MAX_CUSTOM_ID)
    components = payload.get("components") or []
    if len(components) > MAX_ROWS:
        errors["components"] = too_long(MAX_ROWS)
    elif found := component_errors(components):
        errors["components"] = found
    return errors


def component_errors(components: list[dict[str, Any]]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    for index, item in enumerate(components):
        found: dict[str, Any] = {}
        if len(str(item.get("custom_id") or "")) > MAX_CUSTOM_ID:
            found["custom_id"] = too_long(MAX_CUSTOM_ID)
        if item.get("type") == 2 and len(item.get("label") or "") > MAX_LABEL:
            found["label"] = too_long(MAX_LABEL)
        children = item.get("components") or []
        if item.get("type") == 1 and len(children) > MAX_PER_ROW:
            found["components"] = too_long(MAX_PER_ROW)
        elif inner := component_errors(children):
            found["components"] = inner
        if "component" in item and (inner := component_errors([item["component"]])):
            found["component"] = inner["0"]  # a modal's label holds one component
        if found:
            errors[str(index)] = found
    return errors


def rows_of(post: Post) -> list[list[str]]:
    """The labels of a post's buttons, row by row, as Discord lays them out."""
    components = post.data.get("components") or []
    return [[b.get("label") or "" for b in row.get("components", [])] for row in components]


def selects_of(post: Post) -> list[dict[str, Any]]:
    """A post's select menus (component type 3), as Discord keeps them."""
    rows = post.data.get("components") or []
    return [item for row in rows for item in row.get("components", []) if item.get("type") == 3]


def buttons_of(components: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (button.get("label") or "", button["custom_id"])
        for row in components
        for button in row.get("components", [])
        if button.get("type") == 2
    ]


def guild_payload(
    guild_id: int, channels: list[Channel], system_channel: Channel | None = None
) -> dict[str, Any]:
    everyone = {
        "id": str(guild_id),
        "name": "@everyone",
        "permissions": str(MEMBER),
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }
    return {
        "id": str(guild_id),
        "name": "Our place",
        "owner_id": str(ALICE.id),
        "roles": [everyone],
        "channels": [{**c.payload(), "position": i} for i, c in enumerate(channels)],
        "members": [
            {
                "user": {**BOT.user(), "bot": True},
                "roles": [],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
            }
        ],
        "member_count": 3,
        "features": [],
        "emojis": [],
        "stickers": [],
        "threads": [],
        "system_channel_id": str(system_channel.id) if system_channel else None,
        "large": False,
        "joined_at": "2026-01-01T00:00:00+00:00",
    }
