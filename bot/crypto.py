"""The data key: AES-256-GCM sealing of notes and promises, and the column type that applies it."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

VERSION = "tk1"  # every sealed value starts "tk1:<key id>:", so old, new and plain tell apart
NONCE = 12
KEY_BYTES = 32


class DataKeyError(Exception):
    """The data key is missing, malformed or does not open this database; the message says which."""


def new_key() -> str:
    """A fresh random 256-bit key, as the text TANDEM_DATA_KEY and the key file hold."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def _decode(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise DataKeyError(
            "a data key must be 32 random bytes in URL-safe base64 (44 characters), such as "
            "`python -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())'`"
        )
    return raw


class Key:
    """One AES-256-GCM key and its short public id (a hash: it tells keys apart, reveals nothing)."""

    def __init__(self, text: str) -> None:
        raw = _decode(text)
        self.text = text.strip()
        self.id = hashlib.sha256(b"tandem data key id\0" + raw).hexdigest()[:8]
        self._aead = AESGCM(raw)

    def seal(self, plain: str, purpose: str) -> str:
        nonce = os.urandom(NONCE)
        sealed = self._aead.encrypt(nonce, plain.encode(), self._aad(purpose))
        return f"{VERSION}:{self.id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, body: str, purpose: str) -> str:
        raw = base64.urlsafe_b64decode(body.encode())
        return self._aead.decrypt(raw[:NONCE], raw[NONCE:], self._aad(purpose)).decode()

    def _aad(self, purpose: str) -> bytes:
        # Binding the purpose stops a promise's ciphertext from being pasted in as a note.
        return f"{VERSION}:{self.id}:{purpose}".encode()


class Keyring:
    """The keys that may open data, newest first; new data is always sealed with the first."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise DataKeyError("no data key given")
        self.keys = [Key(k) for k in keys]
        self.by_id = {k.id: k for k in reversed(self.keys)}

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """Keys from "new,old" (TANDEM_DATA_KEY) or a key file: one a line, # comments."""
        lines = (line.split("#", 1)[0] for line in text.replace(",", "\n").splitlines())
        return cls([line.strip() for line in lines if line.strip()])

    @classmethod
    def ephemeral(cls) -> Keyring:
        """One key for the life of the process, never written anywhere: for throwaway stores and
        tests, which may reopen a database within the process. The app always brings its own."""
        return _process_keyring()

    @property
    def primary(self) -> Key:
        return self.keys[0]

    def prefix(self) -> str:
        """How a value sealed with the newest key starts."""
        return f"{VERSION}:{self.primary.id}:"

    def seal(self, plain: str, purpose: str) -> str:
        return self.primary.seal(plain, purpose)

    def open(self, value: str, purpose: str) -> str:
        """The plain text of a sealed value; a value from before encryption comes back as it is."""
        version, _, rest = value.partition(":")
        if version != VERSION:
            return value
        key_id, _, body = rest.partition(":")
        key = self.by_id.get(key_id)
        if key is None:
            raise DataKeyError(f"a value is sealed with key {key_id}, which is not in the keyring")
        try:
            return key.open(body, purpose)
        except (InvalidTag, ValueError, binascii.Error):
            raise DataKeyError(f"a value sealed with key {key_id} failed its check") from None

    def opens(self, value: str, purpose: str) -> bool:
        try:
            self.open(value, purpose)
        except DataKeyError:
            return False
        return value.startswith(f"{VERSION}:")


@functools.cache
def _process_keyring() -> Keyring:
    return Keyring([new_key()])


KEYRING_ATTRIBUTE = "tandem_keyring"


def attach(dialect: Dialect, keyring: Keyring) -> None:
    """Gives an engine its keyring: each engine has its own dialect object, so stores never share."""
    setattr(dialect, KEYRING_ATTRIBUTE, keyring)


def keyring_of(dialect: Dialect) -> Keyring:
    keyring = getattr(dialect, KEYRING_ATTRIBUTE, None)
    if not isinstance(keyring, Keyring):
        raise DataKeyError("this database engine has no data key (build it through Store)")
    return keyring


class Sealed(TypeDecorator[str]):
    """Text encrypted on its way into the database and decrypted on its way out.

    Every reader and writer of the column (ORM objects, Core selects and updates) goes through
    it, so no code path can store a note in the clear by forgetting a call.
    """

    impl = Text
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring_of(dialect).seal(value, self.purpose)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring_of(dialect).open(value, self.purpose)

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        # A comparison (LIKE 'tk1:…', = '') is about the stored text: never seal its operand.
        return String()

    @property
    def python_type(self) -> type[str]:
        return str
