"""API keys: a recognisable prefix and 256 random bits; only an HMAC-SHA256 is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "sk_live_"


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str, secret: str) -> str:
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def display_prefix(key: str) -> str:
    """Enough of the key for a person to tell keys apart, never enough to use it."""
    return key[: len(KEY_PREFIX) + 4]
