"""Truedy names its idempotency header ``X-Idempotency-Key``; the keys share the native store.

A key sent to Truedy's endpoints and the same key sent to the native ones are one key of the
API key: reusing it for another request is refused like any reuse.
"""

from callplane.idempotency.http import idempotent

TRUEDY_IDEMPOTENCY_KEY = idempotent("X-Idempotency-Key")
