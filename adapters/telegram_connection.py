"""The bot's connection to Telegram: the PTB application's requests and timeouts, getUpdates that skips malformed updates, the webhook server."""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from adapters.telegram_limits import FloodControl, PerChatOrder

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

TgApp = Application[Any, Any, Any, Any, Any, Any]
JSONDict = dict[str, Any]


def readable(raw: object) -> JSONDict | None:
    """The update as PTB can read it: a malformed one shrinks to its bare update_id (or None)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
        return None
    try:
        update = Update.de_json(raw, None)
        message = update.effective_message
        if message is not None and getattr(message, "chat", None) is None:
            # PTB reads a message with no chat, and every handler would then fail on it.
            raise ValueError("a message in no chat")
    except Exception as err:
        # PTB would log the whole update (message texts included) and fetch it again forever.
        log.warning("skipped a malformed update (%s)", type(err).__name__)
        return {"update_id": raw["update_id"]}
    return raw


class UpdatesRequest(HTTPXRequest):
    """The getUpdates connection: drops what PTB cannot parse, so one bad update never wedges polling."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        data = HTTPXRequest.parse_json_payload(payload)
        result = data.get("result")
        if data.get("ok") and isinstance(result, list):
            data["result"] = [u for u in map(readable, result) if u is not None]
        return data


def file_url(base_url: str) -> str:
    """https://api.telegram.org/bot -> https://api.telegram.org/file/bot (same for a local server)."""
    if base_url.endswith("/bot"):
        return base_url[: -len("bot")] + "file/bot"
    return "https://api.telegram.org/file/bot"


def application(
    token: str, base_url: str, timeout: float, flood: FloodControl, *, webhook: bool
) -> TgApp:
    """The PTB application, without handlers: paced by `flood`, each chat's updates in order,
    no job queue, and (with a webhook) no updater."""
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(file_url(base_url))
        .rate_limiter(flood)
        .concurrent_updates(PerChatOrder())
        .job_queue(None)  # the core owns the one scheduler
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .write_timeout(timeout)
        .media_write_timeout(timeout * 3)
        .pool_timeout(timeout)
        .get_updates_request(
            UpdatesRequest(
                # Two: at stop, PTB's last getUpdates (which confirms what was fetched) must
                # not queue behind the long poll it just cancelled, or the last batch of
                # updates comes back after a restart and runs twice.
                connection_pool_size=2,
                connect_timeout=timeout,
                read_timeout=timeout,
                write_timeout=timeout,
                pool_timeout=timeout,
            )
        )
    )
    if webhook:
        builder = builder.updater(None)
    app: TgApp = builder.build()
    return app


class Webhook:
    """The webhook server: takes Telegram's calls that carry the secret, and queues their updates."""

    def __init__(self, app: TgApp, secret: str) -> None:
        self._app: TgApp | None = app
        self._secret = secret
        self._runner: web.AppRunner | None = None

    async def start(self, url: str, listen: str, port: int) -> None:
        from aiohttp import web

        server = web.Application(client_max_size=1 << 20)
        server.router.add_post(urlsplit(url).path or "/", self._on_post)
        runner = web.AppRunner(server, access_log=None)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, listen, port)
        await site.start()
        assert self._app is not None
        try:
            await self._app.bot.set_webhook(
                url, secret_token=self._secret, allowed_updates=list(ALLOWED_UPDATES)
            )
        except BadRequest as err:
            if "secret token" in err.message.lower():
                log.error(
                    "telegram: the webhook secret was refused; TELEGRAM_WEBHOOK_SECRET takes "
                    "1-256 characters: A-Z a-z 0-9 _ -"
                )
            raise

    async def stop(self) -> None:
        self._app = None  # a call still arriving is answered 503
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _on_post(self, request: web.Request) -> web.Response:
        from aiohttp import web

        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret.encode()):
            return web.Response(status=403)
        app = self._app
        if app is None:
            return web.Response(status=503)
        try:
            raw = await request.json()
        except ValueError:
            return web.Response(status=400)
        data = readable(raw)
        if data is not None and len(data) > 1:  # a bare update_id is what was left of junk
            await app.update_queue.put(Update.de_json(data, app.bot))
        # A 200 even for junk: Telegram would otherwise redeliver it for hours.
        return web.Response()
