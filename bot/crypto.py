"""The data key: AES-256-GCM sealing of notes and promises, and the column type that applies it."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Integer,
    String,
    Text,
    case,
    cast,
    column,
    func,
    literal,
    null,
    select,
    table,
    type_coerce,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
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


# How a member's data key is wrapped by the master keyring: bound to that member, so a wrapped
# key copied onto another member's row does not open.
def wrap_purpose(member_id: int) -> str:
    return f"sealkey:{member_id}"


def new_member_key() -> bytes:
    return os.urandom(KEY_BYTES)


def wrap(keyring: Keyring, raw: bytes, member_id: int) -> str:
    return keyring.seal(base64.urlsafe_b64encode(raw).decode(), wrap_purpose(member_id))


@functools.lru_cache(maxsize=8192)  # a reveal or an export reads one member's key many times
def _unwrapped(keyring: Keyring, wrapped: str, member_id: int) -> AESGCM:
    return AESGCM(_decode(keyring.open(wrapped, wrap_purpose(member_id))))


V2 = "tk2"  # sealed with the member's own key, bound to its place: "tk2:<base64 nonce+ct>"


@dataclass(frozen=True)
class Place:
    """Where a sealed value lives: its associated data, so a value copied anywhere else (another
    row, column, table, space or member) is refused instead of opening there."""

    table: str
    column: str
    row: int
    space: int
    member: int

    def aad(self) -> bytes:
        return f"{V2}|{self.table}.{self.column}|{self.row}|{self.space}|{self.member}".encode()


class Placed(str):
    """Plain text on its way into a Sealed column, with its place and its member's key (the ORM
    events in bot/sealing.py make these); a bare str is refused, so nothing is sealed unbound."""

    place: Place
    key: AESGCM

    def __new__(cls, text: str, place: Place, key: AESGCM) -> Placed:
        made = super().__new__(cls, text)
        made.place, made.key = place, key
        return made


def seal_placed(value: Placed) -> str:
    nonce = os.urandom(NONCE)
    sealed = value.key.encrypt(nonce, str(value).encode(), value.place.aad())
    return f"{V2}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


# The read side: each sealed column is selected as "§|row|space|member|wrapped key|stored", so
# the value comes with its place and its member's key in the same row, through ORM and Core.
MARK = "§"
_SEALKEY = table("sealkey", column("member_id", Integer), column("wrapped", Text))


class Sealed(TypeDecorator[str]):
    """Text encrypted on its way into the database and decrypted on its way out.

    Each value is sealed with its member's own data key (crypto-shredding: destroying that key,
    as forgetting does, leaves every copy anywhere unreadable), bound to its place (Place).
    Every reader and writer (ORM objects, Core selects and updates) goes through it.
    """

    impl = Text
    cache_ok = True

    def __init__(
        self, table_name: str, column_name: str, purpose: str, member_column: str = "member_id"
    ) -> None:
        super().__init__()
        self.table_name = table_name
        self.column_name = column_name
        self.purpose = purpose  # the tk1 (master key) purpose of values from before tk2
        self.member_column = member_column  # the column naming the member whose key seals it

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Placed):
            raise DataKeyError(
                f"a value for {self.table_name} was written without its place: go through the "
                "ORM (bot/sealing.py) or sealing.placed()"
            )
        return seal_placed(value)

    def column_expression(self, col: ColumnElement[str]) -> ColumnElement[str] | None:
        source = col.table
        member = source.c[self.member_column]
        wrapped = (
            select(_SEALKEY.c.wrapped)
            .where(_SEALKEY.c.member_id == member)
            .correlate(source)
            .scalar_subquery()
        )
        parts: list[ColumnElement[Any]] = [
            literal(MARK),
            cast(source.c.id, Text),
            cast(source.c.space_id, Text),
            cast(member, Text),
            func.coalesce(wrapped, ""),
            type_coerce(col, Text),
        ]
        joined: ColumnElement[Any] = parts[0]
        for part in parts[1:]:
            joined = joined + "|" + part  # both SQLite and PostgreSQL: ||
        # Most rows have no note or side: CASE skips the key lookup for them (both databases
        # evaluate a CASE branch only when it is taken).
        return type_coerce(case((col.is_(None), null()), else_=joined), self)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not value.startswith(MARK + "|"):
            raise DataKeyError(f"a value of {self.table_name} was read without its place")
        _, row, space, member, wrapped, stored = value.split("|", 5)
        version = stored.partition(":")[0]
        if version == VERSION:  # sealed with the master key, before tk2: still readable
            return keyring_of(dialect).open(stored, self.purpose)
        if version != V2:
            return stored  # from before encryption
        place = Place(self.table_name, self.column_name, int(row), int(space), int(member))
        if not wrapped:
            raise DataKeyError(
                f"the data key of member {member} is gone (forgotten): {self.table_name} row "
                f"{row} can no longer be read"
            )
        try:
            key = _unwrapped(keyring_of(dialect), wrapped, int(member))
            raw = base64.urlsafe_b64decode(stored[len(V2) + 1 :].encode())
            return key.decrypt(raw[:NONCE], raw[NONCE:], place.aad()).decode()
        except (InvalidTag, ValueError, binascii.Error):
            raise DataKeyError(
                f"a sealed value in {self.table_name} row {row} does not belong there (moved "
                "from another row, column or member, or changed): refused"
            ) from None

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        # A comparison (LIKE 'tk1:…', = '') is about the stored text: never seal its operand.
        return String()

    @property
    def python_type(self) -> type[str]:
        return str
