"""Caller-ID selection in SQL: lock one number, count its usage on that row, record the call.

Caps must be exact with many servers selecting for one agent at once, and selection must keep up
with a dialer. Locking every candidate and counting a log read from another table did the
first and not the second (all selections of an agent queued behind each other, and the count
grew with the log). Here:

- the candidate is chosen in SQL, in the strategy's order, and only that number is locked
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: concurrent selections take different numbers);
- its usage lives on the locked row: counts of the sliding last hour and day, brought up to
  date under the lock by subtracting the log entries that left each window since the last
  selection (each entry is read once per window: the cost does not grow with the log);
- a number found at a cap is marked ``capped_until`` the moment a slot frees, so the next
  selections skip it without counting anything.

The counters stay on the number's row, wide and many-indexed as it is: none of the columns a
selection sets is indexed, so its update is HOT (no index entry is written; measured 99.8-100%
of them), and a narrow side table would add a second row to lock without saving index work
(docs/benchmarks.md, "where its CPU goes").

Health (callplane.reputation) lives on the same row: a benched or paused number is not a
candidate (a benched one is again once its cool-down is over), a warming number's day cap is the
ramp's, and a destination called recently keeps its number (``sticky``). The row lock makes these
as exact as the caps: an outcome that benches a number locks the row too.

On PostgreSQL the usual case (a free number under its caps) is all of this in one statement, in
autocommit on the event loop's own connection: one round trip after the key's, and no thread.
Everything else (a number found at a cap, all busy, all benched, dry runs, a deadlock) takes the
passes below, a short transaction each in a worker thread.

On SQLite, writers are serialised by ``BEGIN IMMEDIATE``, and the same statements run unlocked.
Timestamps come from the servers' clocks: a skew between servers can only make a cap stricter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from callplane.core import ids
from callplane.core.db import utcnow
from callplane.core.errors import Conflict
from callplane.core.hotdb import (
    HotConnection,
    HotPool,
    Row,
    Transaction,
    json_of,
    timestamp_for,
    timestamp_of,
    uuid_for,
    uuid_of,
)
from callplane.numbers.models import PhoneNumber
from callplane.numbers.service import NumberView
from callplane.reputation.health import warming_cap
from callplane.routing.service import AgentFacts

MAX_PASSES = 1_000  # a pass takes a number, marks one as capped, or finds all busy
BUSY_SECONDS = 5.0  # how long a selection retries while every free number is in use
# A deadlock with a concurrent writer (e.g. an attach locking the agent, then the number)
# rolls the pass back whole; the next pass starts afresh.
TRANSIENT_ERRORS = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
OUTCOME_RETENTION = 8 * DAY  # the health figures' seven days, and a margin

STICKY, LEAST_BAD = -1, 3  # ranks beside the strategy's 0, 1, 2
# A number the selector may take: not paused, and not benched unless its cool-down is over.
_SELECTABLE = """(n.health_state IN ('healthy', 'watch', 'warming')
  OR n.health_state = 'benched' AND n.benched_until <= :now)"""
_BENCHED = "(n.health_state = 'benched' AND n.benched_until > :now)"
_FREE = "(n.capped_until IS NULL OR n.capped_until <= :now)"
_POOL = """FROM assignments s
JOIN phone_numbers n ON n.id = s.number_id
WHERE s.agent_id = :agent_id AND n.status = 'active' AND n.verified_at IS NOT NULL"""
# -1: the healthy number that called this destination last, within the sticky window; then
# 0, 1, 2: how well a number fits the strategy (see ``reason_for``); ties go to the least
# recently used number, then to the oldest id.
_RANK = f"""CASE
    WHEN n.health_state IN ('healthy', 'warming') AND n.id = (
      SELECT c.number_id FROM caller_id_selections c
      WHERE c.agent_id = :agent_id AND c.to_e164 = :to AND c.selected_at > :sticky_since
      ORDER BY c.selected_at DESC LIMIT 1) THEN {STICKY}
    WHEN :strategy = 'primary' AND s.is_primary THEN 0
    WHEN :strategy = 'local_presence' AND substr(n.e164, 1, 5) = :area THEN 0
    WHEN :strategy = 'local_presence' AND n.country_code = :region THEN 1
    ELSE 2
  END"""  # noqa: S608 - constant fragments; values are bound parameters
_BEST = f"""{_POOL} AND {_FREE} AND {_SELECTABLE}
ORDER BY rank, n.last_selected_at IS NOT NULL, n.last_selected_at, n.id
LIMIT 1"""
_CANDIDATE_SQL = f"""
SELECT n.id, {_RANK} AS rank, n.max_calls_per_day, n.warming_since
{_BEST}
"""
# When every number is benched and the agent takes the least bad: the best answer rate judged.
_LEAST_BAD_SQL = f"""
SELECT n.id, {LEAST_BAD} AS rank, n.max_calls_per_day, n.warming_since
{_POOL} AND {_FREE} AND {_BENCHED}
ORDER BY coalesce(n.health_answer_rate, 0) DESC, n.last_selected_at IS NOT NULL,
  n.last_selected_at, n.id
LIMIT 1
"""

_NUMBER_COLUMNS = (
    "id",
    "workspace_id",
    "e164",
    "friendly_name",
    "country_code",
    "number_type",
    "valid",
    "status",
    "source",
    "provider",
    "monthly_cost_cents",
    "purchased_at",
    "fallback_action",
    "fallback_destination",
    "allowed_inbound_countries",
    "max_calls_per_hour",
    "max_calls_per_day",
    "verified_by",
    "created_at",
    "updated_at",
    "version",
)

# Bring the locked number's counts up to ``now`` and, if it is under its caps, count this call.
# (Whether it did is read back from ``last_selected_at``: SQLite's RETURNING cannot name ``r``.)
_WINDOW = """
  CASE WHEN n.last_selected_at IS NULL OR n.last_selected_at <= :{since} THEN 0
    ELSE n.calls_{unit} - (SELECT count(*) FROM caller_id_selections c
      WHERE c.number_id = n.id AND c.selected_at > n.{unit}_edge AND c.selected_at <= :{since})
  END AS {unit}_count,
  CASE WHEN n.{unit}_edge IS NULL OR n.{unit}_edge < :{since} THEN :{since}
    ELSE n.{unit}_edge END AS {unit}_edge"""
_TAKE_SQL = f"""
UPDATE phone_numbers SET
  calls_hour = r.hour_count + r.ok,
  calls_day = r.day_count + r.ok,
  hour_edge = r.hour_edge,
  day_edge = r.day_edge,
  last_selected_at = CASE WHEN r.ok = 1 THEN :now ELSE phone_numbers.last_selected_at END,
  capped_until = NULL
FROM (
  SELECT q.*,
    CASE WHEN (q.max_calls_per_hour IS NULL OR q.hour_count < q.max_calls_per_hour)
          AND (:day_cap < 0 OR q.day_count < :day_cap)
      THEN 1 ELSE 0 END AS ok
  FROM (
    SELECT n.id, n.max_calls_per_hour, n.max_calls_per_day,
      {_WINDOW.format(unit="hour", since="hour_ago")},
      {_WINDOW.format(unit="day", since="day_ago")}
    FROM phone_numbers n WHERE n.id = :number_id
  ) q
) r
WHERE phone_numbers.id = r.id
RETURNING CASE WHEN phone_numbers.last_selected_at = :now THEN 1 ELSE 0 END,
  phone_numbers.calls_hour, phone_numbers.calls_day, phone_numbers.health_state,
  {", ".join(f"phone_numbers.{c}" for c in _NUMBER_COLUMNS)}
"""  # noqa: S608 - constant fragments; values are bound parameters

# PostgreSQL only: a whole selection in one statement, so in one round trip and autocommit. The
# candidate is locked as above and read back at its latest version (``FOR UPDATE`` does that in
# READ COMMITTED), so the counts come from the locked row and not from the statement's snapshot;
# a warming number's day cap is the ramp's (``warming_cap`` in SQL: the day's step, or the
# number's own cap when that is lower). Only a number under its caps is taken; a number at a cap,
# or no candidate at all, leaves everything unchanged and the pass above decides (``select``).
_TAKE_ONE_SQL = f"""
WITH n AS (
  SELECT n.id, {_RANK} AS rank,
    n.max_calls_per_hour, n.max_calls_per_day, n.warming_since, n.last_selected_at,
    n.calls_hour, n.calls_day, n.hour_edge, n.day_edge
  {_BEST}
  FOR UPDATE OF n SKIP LOCKED
), q AS (
  SELECT n.id, n.rank, n.max_calls_per_hour,
    least(n.max_calls_per_day, CASE WHEN n.warming_since IS NOT NULL
      THEN (CAST(:ramp AS integer[]))[1 + greatest(0,
        floor(extract(epoch FROM CAST(:now AS timestamptz) - n.warming_since) / 86400))::integer]
    END) AS day_cap,
    {_WINDOW.format(unit="hour", since="hour_ago")},
    {_WINDOW.format(unit="day", since="day_ago")}
  FROM n
), r AS (
  SELECT q.*, (q.max_calls_per_hour IS NULL OR q.hour_count < q.max_calls_per_hour)
    AND (q.day_cap IS NULL OR q.day_count < q.day_cap) AS ok
  FROM q
), t AS (
  UPDATE phone_numbers SET
    calls_hour = r.hour_count + 1,
    calls_day = r.day_count + 1,
    hour_edge = r.hour_edge,
    day_edge = r.day_edge,
    last_selected_at = :now,
    capped_until = NULL
  FROM r
  WHERE phone_numbers.id = r.id AND r.ok
  RETURNING phone_numbers.calls_hour, phone_numbers.calls_day, phone_numbers.health_state,
    {", ".join(f"phone_numbers.{c}" for c in _NUMBER_COLUMNS)}
), logged AS (
  INSERT INTO caller_id_selections
    (id, workspace_id, number_id, agent_id, to_e164, selected_at, health_state)
  SELECT :id, :workspace_id, t.id, :agent_id, :to, :now, t.health_state FROM t
)
SELECT r.rank, t.*,
  ARRAY(SELECT a.agent_id FROM assignments a WHERE a.number_id = t.id
    AND a.direction = 'inbound' ORDER BY a.created_at, a.agent_id),
  ARRAY(SELECT a.agent_id FROM assignments a WHERE a.number_id = t.id
    AND a.direction = 'outbound' ORDER BY a.created_at, a.agent_id)
FROM r LEFT JOIN t ON true
"""  # noqa: S608 - constant fragments; values are bound parameters

# When a number at a cap gets a slot back: the oldest selection still blocking leaves its window.
_BLOCKING_SQL = """
SELECT selected_at FROM caller_id_selections
WHERE number_id = :number_id AND selected_at > :since
ORDER BY selected_at LIMIT 1 OFFSET :offset
"""
_CAP_SQL = "UPDATE phone_numbers SET capped_until = :until WHERE id = :number_id"
_RECORD_SQL = """
INSERT INTO caller_id_selections
  (id, workspace_id, number_id, agent_id, to_e164, selected_at, health_state)
VALUES (:id, :workspace_id, :number_id, :agent_id, :to, :now, :health_state)
"""
_ASSIGNMENTS_SQL = """
SELECT agent_id, direction FROM assignments WHERE number_id = :number_id
ORDER BY created_at, agent_id
"""
# Why no candidate: how many numbers, how many selectable are free (locked by others), when the
# first capped one frees, and the same for the benched ones.
_POOL_SQL = f"""
SELECT count(*),
  coalesce(sum(CASE WHEN {_SELECTABLE} THEN 1 ELSE 0 END), 0),
  coalesce(sum(CASE WHEN {_SELECTABLE} AND {_FREE} THEN 1 ELSE 0 END), 0),
  min(CASE WHEN {_SELECTABLE} THEN n.capped_until END),
  coalesce(sum(CASE WHEN {_BENCHED} THEN 1 ELSE 0 END), 0),
  coalesce(sum(CASE WHEN {_BENCHED} AND {_FREE} THEN 1 ELSE 0 END), 0),
  min(CASE WHEN {_BENCHED} THEN n.capped_until END)
{_POOL}
"""
# Calls without an outcome count for caps and stickiness only (two days at most); reported
# outcomes stay for the seven-day health figures.
_PRUNE_SQL = """
DELETE FROM caller_id_selections
WHERE selected_at < :before AND (outcome IS NULL OR selected_at < :outcomes_before)
"""


@dataclass(frozen=True, slots=True)
class Selection:
    id: uuid.UUID
    number: NumberView
    strategy: str
    reason: str
    health_state: str
    calls_last_hour: int
    calls_last_day: int


@dataclass(frozen=True, slots=True)
class OutboundAgent:
    workspace_id: uuid.UUID
    id: uuid.UUID
    strategy: str
    when_all_benched: str  # refuse | least_bad
    warming_daily_caps: tuple[int, ...]  # the workspace's caller-ID policy
    sticky_window: dt.timedelta


def outbound_agent(workspace_id: uuid.UUID, facts: AgentFacts) -> OutboundAgent:
    return OutboundAgent(
        workspace_id,
        facts.id,
        facts.outbound_strategy,
        facts.when_all_benched,
        facts.warming_daily_caps,
        facts.sticky_window,
    )


def reason_for(strategy: str, rank: int) -> str:
    """Why the number was chosen, from how well it fit the strategy (``_CANDIDATE_SQL``)."""
    if rank == STICKY:
        return "sticky"
    if rank == LEAST_BAD:
        return "least_bad_benched"
    if strategy == "primary":
        return "primary" if rank == 0 else "primary_unavailable"
    if strategy == "local_presence":
        return ("same_area_code", "same_country", "any_country")[rank]
    return "least_recently_used"


@dataclass(frozen=True, slots=True)
class _Pass:
    """One selection's fixed inputs; each pass reads the clock afresh."""

    agent: OutboundAgent
    to: str
    region: str | None
    dry_run: bool


class CallerIdSelector:
    """Runs one selection as short transactions on the hot-path pool."""

    def __init__(self, pool: HotPool) -> None:
        self.pool = pool
        locked = " FOR UPDATE OF n SKIP LOCKED"
        self._candidate = pool.statement(_CANDIDATE_SQL, postgres_only=locked)
        self._least_bad = pool.statement(_LEAST_BAD_SQL, postgres_only=locked)
        self._take = pool.statement(_TAKE_SQL)
        self._blocking = pool.statement(_BLOCKING_SQL)
        self._cap = pool.statement(_CAP_SQL)
        self._record = pool.statement(_RECORD_SQL)
        self._assignments = pool.statement(_ASSIGNMENTS_SQL)
        self._pool_state = pool.statement(_POOL_SQL)
        self._prune = pool.statement(_PRUNE_SQL)
        self._take_one_sql = pool.statement(_TAKE_ONE_SQL)

    async def select(
        self, agent: OutboundAgent, to: str, region: str | None, *, dry_run: bool = False
    ) -> Selection:
        """The number to call ``to`` from; ``dry_run`` decides the same and then rolls back.

        Pass after pass until a number is taken, or none can be. No pass ever waits for a row
        lock (``SKIP LOCKED``), so selections cannot deadlock one another: a number at its cap
        is marked and committed, and when every free number is locked by other selections right
        now, the selection waits a moment here, on the event loop, holding no thread and no
        connection, and tries again.
        """
        work = _Pass(agent, to, region, dry_run)
        if self.pool.postgres and not dry_run:
            taken = await self._take_one(work)
            if taken is not None:
                return taken
        started = time.monotonic()
        for attempt in range(MAX_PASSES):
            try:
                return await self.pool.run(lambda db: self._passes(db, work))
            except _Busy:
                if time.monotonic() - started > BUSY_SECONDS:
                    raise Conflict(
                        "no_caller_id_available",
                        "every free number of this agent is in use by other selections",
                        {
                            "agent_id": ids.render("agent", agent.id),
                            "reason": "all_numbers_busy",
                            "retry_after": 1,
                        },
                    ) from None
                await asyncio.sleep(random.uniform(0, min(0.02, 0.001 * 2**attempt)))
        raise _contended(agent)

    async def _take_one(self, work: _Pass) -> Selection | None:
        """The usual selection in one statement on the event loop's own connection
        (PostgreSQL): a free number under its caps, taken; None when there is none, when the
        best one is at a cap (it is marked by the passes), or on a deadlock rolled back."""
        now = utcnow()
        agent = work.agent
        selection_id = ids.new_uuid()
        params = {
            **_parameters(work, now, postgres=True),
            "ramp": list(agent.warming_daily_caps),
            "id": selection_id,
            "workspace_id": agent.workspace_id,
        }
        try:
            row = await self.pool.one(self._take_one_sql, params)
        except TRANSIENT_ERRORS:
            return None
        if row is None or row[1] is None:
            return None
        columns = row[4 : 4 + len(_NUMBER_COLUMNS)]
        inbound, outbound = row[-2], row[-1]
        return Selection(
            id=selection_id,
            number=_view(columns, inbound[0] if inbound else None, outbound),
            strategy=agent.strategy,
            reason=reason_for(agent.strategy, int(row[0])),
            health_state=row[3],
            calls_last_hour=int(row[1]),
            calls_last_day=int(row[2]),
        )

    async def prune(
        self,
        older_than: dt.timedelta = 2 * DAY,
        outcomes_older_than: dt.timedelta = OUTCOME_RETENTION,
    ) -> None:
        """Drop log entries nothing reads any more.

        A number used within the last day had its day edge moved to within two days of now by
        that use, so what is older than two days was subtracted already or is never read by a
        count; the sticky window is at most two days; an entry with an outcome is kept for the
        health figures' seven days.
        """
        now = utcnow()
        await self.pool.run(
            lambda db: db.run(
                self._prune,
                {
                    "before": db.timestamp(now - older_than),
                    "outcomes_before": db.timestamp(now - outcomes_older_than),
                },
            )
        )

    def _passes(self, db: HotConnection, work: _Pass) -> Selection:
        """Passes in one thread while they make progress (a number marked capped, a deadlock
        rolled back); a selection, or ``_Busy`` for the caller to wait on."""
        for _ in range(MAX_PASSES):
            now = utcnow()
            params = _parameters(work, now, postgres=db.postgres)
            try:
                with db.transaction() as transaction:
                    selection = self._pass(db, transaction, work, params, now)
            except TRANSIENT_ERRORS:
                continue  # rolled back whole; nothing of it stays
            if selection is not None:
                return selection
        raise _contended(work.agent)

    def _pass(
        self,
        db: HotConnection,
        transaction: Transaction,
        work: _Pass,
        params: dict[str, Any],
        now: dt.datetime,
    ) -> Selection | None:
        """Take the best free number, or mark the best one as capped (None), in one transaction."""
        agent = work.agent
        candidate = db.one(self._candidate, params) or self._fallback(db, agent, params, now)
        number_id, rank, own_day_cap, warming_since = candidate
        warming = warming_cap(
            agent.warming_daily_caps, timestamp_of(warming_since), now, own_day_cap
        )
        day_cap = own_day_cap if warming is None else warming[0]
        taken = db.one(
            self._take,
            {**params, "number_id": number_id, "day_cap": -1 if day_cap is None else day_cap},
        )
        assert taken is not None  # the row is locked: it cannot have gone
        if taken[0] != 1:
            until = self._free_at(db, taken, day_cap, warming, now)
            db.run(self._cap, {"number_id": number_id, "until": db.timestamp(until)})
            return None
        selection_id = ids.new_uuid()
        db.run(
            self._record,
            {
                **params,
                "id": db.uuid(selection_id),
                "workspace_id": db.uuid(agent.workspace_id),
                "number_id": number_id,
                "health_state": taken[3],
            },
        )
        assignments = db.all(self._assignments, {"number_id": number_id})
        if work.dry_run:
            transaction.discard()
        inbound = next((a for a, direction in assignments if direction == "inbound"), None)
        return Selection(
            id=selection_id,
            number=_view(
                taken[_TAKEN_NUMBER:],
                inbound,
                [a for a, direction in assignments if direction == "outbound"],
            ),
            strategy=agent.strategy,
            reason=reason_for(agent.strategy, int(rank)),
            health_state=taken[3],
            calls_last_hour=int(taken[1]),
            calls_last_day=int(taken[2]),
        )

    def _fallback(
        self, db: HotConnection, agent: OutboundAgent, params: dict[str, Any], now: dt.datetime
    ) -> Row:
        """No selectable number is free: the least bad benched one if the agent wants it when
        every number is benched, or why there is none (``_Busy`` when others hold them)."""
        row = db.one(self._pool_state, params)
        total, selectable, free, first_free, benched, benched_free, benched_first_free = row or (
            0,
            0,
            0,
            None,
            0,
            0,
            None,
        )
        if free:
            raise _Busy  # free numbers exist, locked by concurrent selections
        agent_ref = ids.render("agent", agent.id)
        if not total:
            raise Conflict(
                "no_caller_id_available",
                "the agent has no active outbound number whose ownership is verified",
                {"agent_id": agent_ref, "reason": "no_numbers", "retry_after": None},
            )
        if selectable:
            raise _at_cap(
                agent_ref, first_free, now, "every number of this agent has reached its call cap"
            )
        if not benched:
            raise Conflict(
                "no_caller_id_available",
                "every number of this agent is paused",
                {"agent_id": agent_ref, "reason": "all_numbers_paused", "retry_after": None},
            )
        if agent.when_all_benched != "least_bad":
            raise Conflict(
                "no_caller_id_available",
                "every number of this agent is benched for a low answer rate",
                {"agent_id": agent_ref, "reason": "all_numbers_benched", "retry_after": None},
            )
        least_bad = db.one(self._least_bad, params)
        if least_bad is not None:
            return least_bad
        if benched_free:
            raise _Busy
        raise _at_cap(
            agent_ref, benched_first_free, now, "every benched number has reached its call cap"
        )

    def _free_at(
        self,
        db: HotConnection,
        taken: Row,
        day_cap: int | None,
        warming: tuple[int, dt.datetime] | None,
        now: dt.datetime,
    ) -> dt.datetime:
        """The moment the capped number can be used again (both windows, if both are full);
        a warming number's cap grows at its next ramp step."""
        hour_count, day_count = int(taken[1]), int(taken[2])
        cap_hour = taken[_TAKEN_NUMBER + _NUMBER_COLUMNS.index("max_calls_per_hour")]
        number_id = taken[_TAKEN_NUMBER]
        free_at = now
        for cap, count, window in ((cap_hour, hour_count, HOUR), (day_cap, day_count, DAY)):
            if cap is None or count < cap:
                continue
            row = db.one(
                self._blocking,
                {
                    "number_id": number_id,
                    "since": db.timestamp(now - window),
                    "offset": count - cap,
                },
            )
            blocking = timestamp_of(row[0]) if row else None
            frees = (blocking or now) + window
            if window is DAY and warming is not None:
                frees = min(frees, warming[1])
            free_at = max(free_at, frees)
        return free_at


_TAKEN_NUMBER = 4  # the take's RETURNING: taken, calls_hour, calls_day, health_state, number…


def _contended(agent: OutboundAgent) -> Conflict:
    return Conflict(
        "no_caller_id_available",
        "no number of this agent could be taken; retry",
        {"agent_id": ids.render("agent", agent.id), "reason": "contended", "retry_after": 1},
    )


def _at_cap(agent_ref: str, first_free: Any, now: dt.datetime, message: str) -> Conflict:
    free_at = timestamp_of(first_free) or now
    return Conflict(
        "no_caller_id_available",
        message,
        {
            "agent_id": agent_ref,
            "reason": "all_numbers_at_cap",
            "retry_after": max(1, math.ceil((free_at - now).total_seconds())),
        },
    )


class _Busy(Exception):
    """Every free number is locked by another selection at this moment."""


def _parameters(work: _Pass, now: dt.datetime, *, postgres: bool) -> dict[str, Any]:
    """The values every selection statement binds, as the database stores them."""
    agent = work.agent
    return {
        "strategy": agent.strategy,
        "area": work.to[:5] if work.to.startswith("+1") else "",
        "region": work.region,
        "agent_id": uuid_for(agent.id, postgres),
        "to": work.to,
        "now": timestamp_for(now, postgres),
        "sticky_since": timestamp_for(now - agent.sticky_window, postgres),
        "hour_ago": timestamp_for(now - HOUR, postgres),
        "day_ago": timestamp_for(now - DAY, postgres),
    }


def _view(columns: Row, inbound: Any, outbound: list[Any]) -> NumberView:
    values = dict(zip(_NUMBER_COLUMNS, columns, strict=True))
    number = PhoneNumber(
        **{
            **values,
            "id": uuid_of(values["id"]),
            "workspace_id": uuid_of(values["workspace_id"]),
            "valid": bool(values["valid"]),
            "allowed_inbound_countries": json_of(values["allowed_inbound_countries"]),
            "purchased_at": timestamp_of(values["purchased_at"]),
            "created_at": timestamp_of(values["created_at"]),
            "updated_at": timestamp_of(values["updated_at"]),
        }
    )
    return NumberView(
        number, None if inbound is None else uuid_of(inbound), [uuid_of(a) for a in outbound]
    )
