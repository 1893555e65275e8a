"""``last_used_at`` of API keys, kept cheaply: at most one write per key and minute per process.

The write runs after the response has gone out, in its own short transaction: it never makes a
read request write, never waits for the request's own write lock (SQLite), and a failure costs
a log line, not the request.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid

from sqlalchemy import or_, update
from sqlalchemy.exc import SQLAlchemyError

from callplane.core.db import Database, utcnow
from callplane.workspaces.models import ApiKey

log = logging.getLogger("callplane.auth")
INTERVAL_SECONDS = 60.0
MAX_TRACKED_KEYS = 100_000


class KeyUsage:
    def __init__(self, database: Database, interval: float = INTERVAL_SECONDS) -> None:
        self.database = database
        self.interval = interval
        self._lock = threading.Lock()
        self._recorded: dict[uuid.UUID, float] = {}

    def due(self, key_id: uuid.UUID) -> bool:
        """Whether this process should record a use of the key now (claims the slot if so)."""
        now = time.monotonic()
        with self._lock:
            last = self._recorded.get(key_id)
            if last is not None and now - last < self.interval:
                return False
            if len(self._recorded) >= MAX_TRACKED_KEYS:
                self._recorded.clear()
            self._recorded[key_id] = now
            return True

    def record(self, key_id: uuid.UUID) -> None:
        """Set last_used_at unless another process did within the interval."""
        now = utcnow()
        recent = now - dt.timedelta(seconds=self.interval)
        try:
            with self.database.transaction() as session:
                session.execute(
                    update(ApiKey)
                    .where(
                        ApiKey.id == key_id,
                        or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < recent),
                    )
                    .values(last_used_at=now)
                )
        except SQLAlchemyError as exc:
            log.warning("could not record the use of an API key: %s", type(exc).__name__)
