"""Secrets at rest: a keyring of Fernet keys and a column type that seals what it stores.

A database dump, a backup or a read-only SQL account must not yield a provider credential, so
secret columns hold Fernet tokens (AES-128-CBC + HMAC-SHA256, authenticated, timestamped). The
keyring lists keys newest first: the newest seals, every key opens, so rotating is "put a new key
in front, run ``callplane secrets re-encrypt``, later drop the old one". Without configured keys
one key is derived from ``CALLPLANE_SECRET_KEY``; it always stays in the ring as the last,
open-only key, so configuring real keys later needs no flag day.

Any secret column reuses this: declare it ``Mapped[str | None] = mapped_column(EncryptedText)``
and ``callplane secrets re-encrypt`` finds it (it walks the models for this type).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import MetaData, Text, column, select, table, update
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from callplane.settings import Settings

log = logging.getLogger("callplane.crypto")

_DERIVATION_INFO = b"callplane secrets at rest v1"


class SecretUnreadable(Exception):
    """A stored secret that no key of the ring opens (a key was dropped too early)."""


def derive_key(secret_key: str) -> bytes:
    """A Fernet key from the installation's secret key (HKDF-SHA256, a fixed purpose label)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVATION_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


def parse_keys(text: str) -> list[bytes]:
    """Comma-separated Fernet keys, newest first; raises ValueError naming the bad position."""
    keys = [part.strip().encode() for part in text.split(",") if part.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError as exc:
            raise ValueError(
                f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from exc
    return keys


class Keyring:
    """Keys newest first: the first seals, all open."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def of(cls, settings: Settings) -> Keyring:
        """The configured keys, then the key derived from the secret key (open-only if listed)."""
        configured = settings.encryption_keys
        keys = parse_keys(configured.get_secret_value() if configured else "")
        derived = derive_key(settings.secret_key.get_secret_value())
        return cls([*keys, derived] if derived not in keys else keys)

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretUnreadable("no key of the keyring opens this secret") from exc

    def reseal(self, token: str) -> str:
        """The same secret sealed under the newest key (raises SecretUnreadable)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretUnreadable("no key of the keyring opens this secret") from exc


def hint(secret: str | None) -> str | None:
    """What an API response may show of a secret: its last four characters, if it is long."""
    if not secret:
        return None
    return "****" + secret[-4:] if len(secret) >= 16 else "****"


_keyring: Keyring | None = None


def install(keyring: Keyring) -> None:
    """Make ``keyring`` the one every EncryptedText column uses (create_app and the CLI call it)."""
    global _keyring
    _keyring = keyring


def current() -> Keyring:
    """The installed keyring, or one built from the environment's settings on first use."""
    global _keyring
    if _keyring is None:
        from callplane.settings import get_settings  # here: settings validate keys with this module

        _keyring = Keyring.of(get_settings())
    return _keyring


class EncryptedText(TypeDecorator[str]):
    """A string column stored sealed; reading opens it with the current keyring.

    A value no key opens reads as None and logs an error (without the value): the workspace
    stays usable and its owner sees the secret as "not set", rather than every request failing.
    Code reading such a column with raw SQL opens it with ``open_stored``.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else current().seal(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return open_stored(value)


def open_stored(value: str | None) -> str | None:
    """A sealed column value as read without the ORM (raw SQL): opened, or None if no key can."""
    if value is None:
        return None
    try:
        return current().open(value)
    except SecretUnreadable:
        log.error("a stored secret cannot be opened with the configured encryption keys")
        return None


def reseal_all(session: Session, metadata: MetaData, keyring: Keyring) -> int:
    """Seal every stored secret under the newest key; returns how many values were rewritten.

    Works on the raw column values (no decorator in between), so a value no key opens is
    reported by SecretUnreadable instead of being silently written back as None.
    """
    rewritten = 0
    for model_table in metadata.sorted_tables:
        sealed = [c.name for c in model_table.columns if isinstance(c.type, EncryptedText)]
        if not sealed:
            continue
        (primary_key,) = model_table.primary_key.columns  # secrets live in single-key tables
        for name in sealed:  # a column object belongs to one table(): a fresh key each time
            key = column(primary_key.name, primary_key.type)
            raw = table(model_table.name, key, column(name, Text()))
            rows = session.execute(select(key, raw.c[name]).where(raw.c[name].is_not(None)))
            for row_key, token in rows.all():
                session.execute(
                    update(raw).where(key == row_key).values({name: keyring.reseal(token)})
                )
                rewritten += 1
    return rewritten
