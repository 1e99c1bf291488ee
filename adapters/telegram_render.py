"""Telegram's text and keyboard shapes: UTF-16 lengths, clipping and splitting to its limits, inline keyboards, deep links."""

from __future__ import annotations

import re
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.helpers import create_deep_linked_url

from bot.messages import Button

MAX_TEXT = 4096  # Telegram's limit, in UTF-16 code units
MAX_CAPTION = 1024
MAX_ANSWER = 200  # answerCallbackQuery text
MAX_ACTION_BYTES = 64  # callback_data
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what t.me/<bot>?start= accepts
ROW = 5  # short labels side by side (the check-in's 1..5)
SHORT_LABEL = 8


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """`text` in at most `limit` UTF-16 units (as Telegram counts), ending in "…" when cut."""
    if utf16_len(text) <= limit:
        return text
    kept, units = 0, 1  # the "…"
    for char in text:
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            break
        kept += 1
    return text[:kept] + "…"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at a line break (else a space) where possible."""
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        fit, units = 0, 0
        for char in rest:
            units += 2 if ord(char) > 0xFFFF else 1
            if units > limit:
                break
            fit += 1
        window = rest[:fit]
        # A break early in the window would leave a stub of a message; then a hard cut is kinder.
        # (Early in UTF-16 units, as the limit is: in emoji, half the characters are all of it.)
        cut = next(
            (
                at
                for sep in ("\n", " ")
                if (at := window.rfind(sep)) >= 0 and utf16_len(window[:at]) >= limit // 2
            ),
            -1,
        )
        if cut < 0:
            head, rest = window, rest[fit:]
        else:
            head, rest = window[:cut], rest[cut + 1 :]
        if head.strip():
            parts.append(head)
    if rest.strip():
        parts.append(rest)
    return parts


def deep_link(bot_username: str, payload: str) -> str:
    """Opens the person's private chat with the bot, which then receives "/start <payload>"."""
    return create_deep_linked_url(bot_username, payload)


def key(button: Button, bot_username: str) -> InlineKeyboardButton:
    if button.start is not None:
        return InlineKeyboardButton(button.label, url=deep_link(bot_username, button.start))
    return InlineKeyboardButton(button.label, callback_data=button.action)


def keyboard(buttons: Sequence[Button], bot_username: str = "") -> InlineKeyboardMarkup | None:
    """Short labels in a row (the check-in's 1 to 5); a longer one gets a row of its own."""
    rows: list[list[InlineKeyboardButton]] = []
    joinable = False
    for button in buttons:
        short = len(button.label) <= SHORT_LABEL
        if short and joinable and len(rows[-1]) < ROW:
            rows[-1].append(key(button, bot_username))
        else:
            rows.append([key(button, bot_username)])
        joinable = short
    return InlineKeyboardMarkup(rows) if rows else None


def sendable(button: Button) -> bool:
    """Whether Telegram takes this button: callback_data of 1 to 64 bytes, a start payload of
    up to 64 letters, digits, _ and -."""
    if button.start is not None:
        return START_PAYLOAD.fullmatch(button.start) is not None
    return 1 <= len(button.action.encode()) <= MAX_ACTION_BYTES
