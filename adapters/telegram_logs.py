"""What Telegram must not leave in the logs: the bot token and webhook secret, and PTB's DEBUG request dumps."""

from __future__ import annotations

import logging


class RedactSecrets(logging.Filter):
    """Blanks the bot token (and webhook secret) out of every record a handler emits.

    httpx logs request URLs, and Telegram's carry the token; so can tracebacks of network errors.
    """

    def __init__(self, *secret_values: str) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secret_values if len(s) >= 8}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the emitter's problem; still check its parts
            message = f"{record.msg} {record.args}"
        if any(s in message for s in self.secrets):
            record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def token_secrets(token: str) -> tuple[str, ...]:
    # "123:ABC...": the part after the colon is the credential; the bot id stays, for debugging.
    return (token.partition(":")[2] or token,)


class LogGuards:
    """While the adapter runs: the redactor on every root handler, and PTB's logger at INFO or above."""

    def __init__(self, *secret_values: str) -> None:
        self.redactor = RedactSecrets(*secret_values)
        self._filtered: list[logging.Handler] = []
        self._telegram_level: int | None = None

    def install(self) -> None:
        for handler in logging.getLogger().handlers:
            handler.addFilter(self.redactor)
            self._filtered.append(handler)
        # At DEBUG, PTB logs every request's parameters: message texts and notes.
        telegram_log = logging.getLogger("telegram")
        if telegram_log.getEffectiveLevel() < logging.INFO:
            self._telegram_level = telegram_log.level
            telegram_log.setLevel(logging.INFO)

    def remove(self) -> None:
        for handler in self._filtered:
            handler.removeFilter(self.redactor)
        self._filtered.clear()
        if self._telegram_level is not None:
            logging.getLogger("telegram").setLevel(self._telegram_level)
            self._telegram_level = None
