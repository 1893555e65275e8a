"""Does health-aware caller-ID selection pay? A simulated carrier against the real API.

One ``callplane serve`` (SQLite, ``CALLPLANE_SIMULATED_CLOCK=true``: each request names the
simulated moment it happens at) serves two workspaces, one per mode, each with an outbound agent
holding the same 20 numbers' worth of caller IDs. A dialer works through a contact list for
``DAYS`` simulated days: every call is a real ``POST /v1/routing/outbound`` and its outcome a
real ``POST /v1/routing/outbound/{selection_id}/outcome``. Only the carrier and the people
answering are simulated, by the model below; it is the same, with the same seed, in both modes:

- plain rotation: strategy ``rotate``, no warming, no stickiness, never watched or benched
  (both thresholds at 0);
- health-aware: strategy ``rotate`` with the default thresholds, the default warming ramp, and
  a 48 h sticky window.

Run (a few minutes):

    .venv/bin/python bench/caller_id_reputation.py [--days 14] [--calls-per-day 1100]
        [--markdown-out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import Database, create_db_engine
from callplane.numbers import ownership
from common import machine, migrate, replace_section, setup_workspace, source_state, temp_dir
from import_and_list import serve

START, END = "<!-- bench:caller_id_reputation:start -->", "<!-- bench:caller_id_reputation:end -->"
SEED = 20261127
SIM_START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # a Monday
WORKDAY = (dt.timedelta(hours=9), dt.timedelta(hours=17))  # calls are spread over it

# The model. A number's tolerance is how many calls a day the carrier lets it make before it
# labels it "Spam Likely": young numbers are trusted less (TOLERANCE_YOUNG, doubling each day of
# age, up to TOLERANCE_MATURE), and each number's tolerance varies by TOLERANCE_SPREAD.
NUMBERS = 20
OWN_DAILY_CAP = 80  # the operator's cap on every number, in both modes
TOLERANCE_YOUNG, TOLERANCE_MATURE, TOLERANCE_SPREAD = 25, 60, (0.85, 1.25)
# A label lifts after this many days in a row with at most QUIET_CALLS calls.
LABEL_QUIET_DAYS, QUIET_CALLS = 2, 5
ANSWER_CLEAN, ANSWER_LABELLED = 0.30, 0.03  # chance a call is answered by its number's state
SHORT_CLEAN, SHORT_LABELLED = 0.05, 0.60  # of answered calls, hung up within seconds
REJECTED_LABELLED = 0.30  # of a labelled number's unanswered calls, blocked outright
CONTACTS = 6_000
SCREENERS = 0.30  # contacts who pick up only a number that has called them before
RETRY_SHARE = 0.5  # a call goes to a contact already tried (and not reached) this often
POLICIES = {
    "plain rotation": {
        "watch_below": 0,
        "bench_below": 0,
        "warming_daily_caps": [],
        "sticky_window_hours": 0,
    },
    "health-aware": {"sticky_window_hours": 48},  # the other fields keep their defaults
}


@dataclass
class Carrier:
    """The network's view of each number: calls today, labels, and quiet days."""

    rng: random.Random
    born: dict[str, int] = field(default_factory=dict)  # first day each number dialled
    spread: dict[str, float] = field(default_factory=dict)
    today: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    labelled: set[str] = field(default_factory=set)
    quiet: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    labelled_days: int = 0
    ever_labelled: set[str] = field(default_factory=set)

    def tolerance(self, e164: str, day: int) -> float:
        age = day - self.born.setdefault(e164, day)
        base = min(TOLERANCE_MATURE, TOLERANCE_YOUNG * 2**age)
        return base * self.spread.setdefault(e164, self.rng.uniform(*TOLERANCE_SPREAD))

    def dial(self, e164: str, day: int) -> bool:
        """Count the call; True when the number is labelled for it."""
        self.today[e164] += 1
        if self.today[e164] > self.tolerance(e164, day):
            self.labelled.add(e164)
            self.ever_labelled.add(e164)
        return e164 in self.labelled

    def end_of_day(self, all_numbers: list[str]) -> None:
        for e164 in all_numbers:
            self.quiet[e164] = self.quiet[e164] + 1 if self.today[e164] <= QUIET_CALLS else 0
            if e164 in self.labelled and self.quiet[e164] >= LABEL_QUIET_DAYS:
                self.labelled.discard(e164)
        self.labelled_days += len(self.labelled)
        self.today.clear()


@dataclass
class Tally:
    attempted: int = 0
    placed: int = 0
    answered: int = 0
    refused: int = 0
    sticky: int = 0
    screeners_reached: int = 0


def _at(moment: dt.datetime) -> dict[str, str]:
    return {"X-Callplane-Simulated-Time": moment.isoformat()}


def _ok(response: httpx2.Response, expect: int = 200) -> Any:
    if response.status_code != expect:
        raise RuntimeError(f"{response.request.url} -> {response.status_code}: {response.text}")
    return response.json()["data"] if response.content else None


def setup(client: httpx2.Client, url: str, mode: str, first: int) -> tuple[str, list[str]]:
    """The mode's workspace through the API: its policy, agent and 20 verified numbers."""
    at = _at(SIM_START)
    _ok(client.patch("/v1/workspace/caller-id-policy", json=POLICIES[mode], headers=at))
    agent = _ok(
        client.post(
            "/v1/agents",
            json={"name": mode, "type": "outbound", "outbound_strategy": "rotate"},
            headers=at,
        ),
        201,
    )
    numbers = [f"+1202555{first + i:04d}" for i in range(NUMBERS)]
    for e164 in numbers:
        _ok(client.post("/v1/numbers", json={"e164": e164}, headers=at), 201)
        cap = {"max_calls_per_day": OWN_DAILY_CAP}
        _ok(client.patch(f"/v1/numbers/{e164}", json=cap, headers=at))
    _verify(url, client, numbers)
    _ok(
        client.put(f"/v1/agents/{agent['id']}/numbers", json={"phone_numbers": numbers}, headers=at)
    )
    return agent["id"], numbers


def _verify(url: str, client: httpx2.Client, numbers: list[str]) -> None:
    """The operator vouches for the numbers (setup, not measured): usable as caller IDs."""
    workspace = ids.parse("workspace", _ok(client.get("/v1/workspace"))["id"])
    assert workspace is not None
    database = Database(create_db_engine(url, pool_size=1))
    try:
        with database.transaction() as session:
            for e164 in numbers:
                row = ownership.workspace_number(session, workspace, e164)
                assert row is not None
                ownership.verify(session, Actor(workspace, None, None), row, "operator")
    finally:
        database.engine.dispose()


def simulate(
    client: httpx2.Client, agent: str, numbers: list[str], days: int, per_day: int
) -> tuple[Tally, Carrier]:
    rng = random.Random(SEED)  # the same people and the same carrier in both modes
    carrier = Carrier(random.Random(SEED + 1))
    screener = [rng.random() < SCREENERS for _ in range(CONTACTS)]
    seen: dict[int, set[str]] = defaultdict(set)  # numbers each contact has seen calling
    waiting: list[int] = []  # contacts tried and not reached yet
    fresh = iter(range(CONTACTS))
    tally = Tally()
    step = (WORKDAY[1] - WORKDAY[0]) / per_day
    for day in range(days):
        for i in range(per_day):
            moment = SIM_START + dt.timedelta(days=day) + WORKDAY[0] + i * step
            if waiting and rng.random() < RETRY_SHARE:
                contact = waiting.pop(rng.randrange(len(waiting)))
            else:
                contact = next(fresh, None)
                if contact is None:
                    contact = waiting.pop(rng.randrange(len(waiting)))
            to = f"+1415{contact:07d}"
            tally.attempted += 1
            chosen = client.post(
                "/v1/routing/outbound", json={"agent_id": agent, "to": to}, headers=_at(moment)
            )
            if chosen.status_code == 409:
                tally.refused += 1
                waiting.append(contact)
                continue
            selection = _ok(chosen)
            e164 = selection["number"]["e164"]
            tally.placed += 1
            tally.sticky += selection["reason"] == "sticky"
            labelled = carrier.dial(e164, day)
            known = e164 in seen[contact]
            seen[contact].add(e164)
            willing = known or not screener[contact]
            answered = willing and rng.random() < (ANSWER_LABELLED if labelled else ANSWER_CLEAN)
            if answered:
                short = rng.random() < (SHORT_LABELLED if labelled else SHORT_CLEAN)
                report = {"outcome": "answered", "duration_seconds": 2 if short else 95}
                tally.answered += 1
                tally.screeners_reached += screener[contact]
            else:
                rejected = labelled and rng.random() < REJECTED_LABELLED
                report = {"outcome": "rejected" if rejected else "no_answer"}
                waiting.append(contact)
            _ok(
                client.post(
                    f"/v1/routing/outbound/{selection['selection_id']}/outcome",
                    json=report,
                    headers=_at(moment + dt.timedelta(minutes=2)),
                )
            )
        carrier.end_of_day(numbers)
    return tally, carrier


def states(client: httpx2.Client, agent: str, moment: dt.datetime) -> dict[str, int]:
    pool = _ok(client.get(f"/v1/agents/{agent}/caller-ids", headers=_at(moment)))
    counts: dict[str, int] = defaultdict(int)
    for number in pool:
        counts[number["state"]] += 1
    return dict(counts)


def run(
    base: str, url: str, key: str, mode: str, first: int, args: argparse.Namespace
) -> tuple[str, Tally, Carrier, dict[str, int]]:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx2.Client(base_url=base, headers=headers, timeout=60) as client:
        agent, numbers = setup(client, url, mode, first)
        tally, carrier = simulate(client, agent, numbers, args.days, args.calls_per_day)
        end = SIM_START + dt.timedelta(days=args.days)
        print(f"{mode}: {tally}", file=sys.stderr)
        return mode, tally, carrier, states(client, agent, end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--calls-per-day", type=int, default=1100)
    parser.add_argument("--markdown-out", type=Path)
    args = parser.parse_args()
    with temp_dir() as tmp:
        url = f"sqlite:///{tmp / 'sim.db'}"
        migrate(url)
        secret = secrets.token_urlsafe(32)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "CALLPLANE_SECRET_KEY": secret,
            "CALLPLANE_LOG_LEVEL": "WARNING",
            "CALLPLANE_SIMULATED_CLOCK": "true",
        }
        with serve(env, ["--no-migrate"], tmp / "server.log") as running:
            keys = {mode: "cp_" + secrets.token_urlsafe(24) for mode in POLICIES}
            for key in keys.values():
                setup_workspace(url, secret, key, "wss://media.example.com/stream", [])
            # The two modes run side by side, each in its own workspace and thread.
            with ThreadPoolExecutor(max_workers=len(POLICIES)) as pool:
                runs = [
                    pool.submit(run, running.base, url, keys[mode], mode, n * 100, args)
                    for n, mode in enumerate(POLICIES)
                ]
                rows = [r.result() for r in runs]
    table = render(rows, args)
    print(table)
    if args.markdown_out:
        replace_section(args.markdown_out, START, END, table)


def render(rows: list[tuple[str, Tally, Carrier, dict[str, int]]], args: argparse.Namespace) -> str:
    header = (
        "| selection | calls asked | placed | refused (409) | answered | answer rate "
        "| screeners reached | sticky picks | numbers ever labelled | labelled at end "
        "| labelled number-days | states at end |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    lines = []
    for mode, t, c, s in rows:
        rate = t.answered / t.placed if t.placed else 0.0
        lines.append(
            f"| {mode} | {t.attempted:,} | {t.placed:,} | {t.refused:,} | {t.answered:,} "
            f"| {rate:.1%} | {t.screeners_reached:,} | {t.sticky:,} | {len(c.ever_labelled)} "
            f"| {len(c.labelled)} | {c.labelled_days} "
            f"| {', '.join(f'{k} {v}' for k, v in sorted(s.items()))} |"
        )
    base, aware = rows[0][1], rows[1][1]
    gain = aware.answered / base.answered if base.answered else float("inf")
    return (
        f"{START}\n"
        "## Caller-ID reputation: plain rotation vs health-aware selection (simulated)\n\n"
        f"Command: `.venv/bin/python bench/caller_id_reputation.py --days {args.days} "
        f"--calls-per-day {args.calls_per_day} --markdown-out docs/benchmarks.md`, "
        f"source {source_state()}.\n"
        f"Machine: {'; '.join(machine())}.\n\n"
        f"{NUMBERS} numbers (own cap {OWN_DAILY_CAP} calls a day each), {args.days} simulated "
        f"days of {args.calls_per_day:,} calls asked for, {CONTACTS:,} contacts of whom "
        f"{SCREENERS:.0%} answer only a number that called them before. The carrier labels a "
        f"number that passes its tolerance in a day ({TOLERANCE_YOUNG} calls on its first day, "
        f"doubling daily up to {TOLERANCE_MATURE}, times {TOLERANCE_SPREAD[0]}-"
        f"{TOLERANCE_SPREAD[1]} per number); a labelled number is answered "
        f"{ANSWER_LABELLED:.0%} of the time instead of {ANSWER_CLEAN:.0%}, {SHORT_LABELLED:.0%} "
        f"of its answers are hang-ups within seconds, and the label lifts after "
        f"{LABEL_QUIET_DAYS} days with at most {QUIET_CALLS} calls. Every call is a real "
        "selection and a real outcome report on one server (SQLite, simulated clock). "
        f"Seed {SEED}; the model's parameters are at the top of the script.\n\n"
        f"{header}{chr(10).join(lines)}\n\n"
        f"Health-aware selection answered {gain:.2f} times the calls of plain rotation.\n"
        f"{END}"
    )


if __name__ == "__main__":
    main()
