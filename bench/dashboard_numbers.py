"""The dashboard's numbers page on a 1,000-number workspace and on a large one, in one run.

Each size gets a fresh database (numbers loaded straight into it, 10% with an inbound agent),
a real ``callplane serve`` and a signed-in session; both sites run at once. Four pages are
timed end to end over HTTP, rendered HTML included: the first page, the last page, a digits
search and a country filter, in rounds that alternate between the two sites.

    .venv/bin/python bench/dashboard_numbers.py [--backend sqlite|postgresql|both]
        [--small 1000] [--large 1000000] [--rounds 15] [--markdown-out docs/benchmarks.md]

The target is the large workspace's page within 1.5x of the small one's; a breach is reported
(and makes the exit status 1), never hidden.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from common import (
    LABELS,
    ROOT,
    NumberRow,
    load_numbers,
    machine,
    median,
    migrate,
    numbers,
    prepare,
    replace_section,
    server,
    setup_workspace,
    source_state,
    temp_dir,
)

SECRET, KEY = secrets.token_hex(16), "sk_live_" + secrets.token_hex(16)
MAX_RATIO = 1.5
# A number of the small set (every size's set starts with the same numbers) found by seven of
# its digits: a search for one number, next to "4155", which matches 0.8% of any set.
ONE_NUMBER = numbers(1)[0][5:12]
PAGES = {
    "first page": "/numbers",
    "last page": "/numbers?last=1",
    "digits search (q=4155)": "/numbers?q=4155",
    f"digits search (q={ONE_NUMBER})": f"/numbers?q={ONE_NUMBER}",
    "country filter (US)": "/numbers?country=US",
}
START, END = "<!-- bench:dashboard_numbers:start -->", "<!-- bench:dashboard_numbers:end -->"


def sign_in(client: httpx2.Client) -> None:
    form = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError("no sign-in form")
    done = client.post("/sign-in", data={"api_key": KEY, "csrf_token": token.group(1)})
    if done.status_code != 303:
        raise RuntimeError(f"sign-in refused: {done.status_code}")


@contextmanager
def site(backend: str, count: int, tmp: Path) -> Iterator[httpx2.Client]:
    """A fresh database of ``count`` numbers, a server on it, and a signed-in client."""
    url, _ = prepare(backend, tmp, schema=f"callplane_bench_dashboard_{count}")
    migrate(url)
    workspace, (agent,) = setup_workspace(
        url, SECRET, KEY, "wss://media.example.com", [{"name": "Desk", "type": "inbound"}]
    )
    started = time.perf_counter()
    rows = [NumberRow(e, agent if i % 10 == 0 else None) for i, e in enumerate(numbers(count))]
    load_numbers(url, workspace, rows)
    print(f"{count:,} numbers loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    with (
        server(url, SECRET, tmp, name=f"server-{count}") as srv,
        httpx2.Client(base_url=srv.base, timeout=120) as client,
    ):
        sign_in(client)
        yield client


def timed(client: httpx2.Client, path: str) -> float:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - start
    if response.status_code != 200 or "<table" not in response.text:
        raise RuntimeError(f"{path}: {response.status_code}")
    return elapsed


def measure(backend: str, small: int, large: int, rounds: int) -> dict[int, dict[str, float]]:
    """Median milliseconds per page and size, both sites up at once, their requests alternated.

    Each round times every page once on each site, the small and the large one back to back
    (which goes first alternates), so the load of a shared machine weighs on both alike.
    """
    times: dict[int, dict[str, list[float]]] = {n: {p: [] for p in PAGES} for n in (small, large)}
    with (
        temp_dir() as tmp_small,
        temp_dir() as tmp_large,
        site(backend, small, tmp_small) as a,
        site(backend, large, tmp_large) as b,
    ):
        clients = {small: a, large: b}
        for path in PAGES.values():  # warm the caches and the query plans
            for client in clients.values():
                for _ in range(3):
                    timed(client, path)
        for i in range(rounds):
            order = (small, large) if i % 2 == 0 else (large, small)
            for name, path in PAGES.items():
                for size in order:
                    times[size][name].append(timed(clients[size], path))
    return {n: {p: median(t) * 1000 for p, t in by_page.items()} for n, by_page in times.items()}


def report(small: int, large: int, results: dict[str, dict[int, dict[str, float]]]) -> str:
    command = "python " + shlex.join(["bench/dashboard_numbers.py", *sys.argv[1:]])
    lines = [
        START,
        "## Dashboard numbers page",
        "",
        f"{small:,} vs {large:,} numbers, " + " and ".join(LABELS[b] for b in results) + ".",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {source_state()} with:",
        "",
        "```sh",
        f".venv/bin/{command}",
        "```",
        "",
        *[f"- {fact}" for fact in machine()],
        "",
        "Median over the rounds, milliseconds, whole HTTP round trip with the rendered HTML "
        "(50 rows, the total included); both sizes served at once, their requests alternated.",
        "",
        f"| database | page | {small:,} numbers | {large:,} numbers | ratio "
        f"| within {MAX_RATIO}x |",
        "|---|---|---|---|---|---|",
    ]
    for backend, by_size in results.items():
        for name in PAGES:
            a, b = by_size[small][name], by_size[large][name]
            ok = "yes" if b / a <= MAX_RATIO else "**no**"
            lines.append(f"| {LABELS[backend]} | {name} | {a:.1f} | {b:.1f} | {b / a:.2f} | {ok} |")
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--markdown-out", type=Path)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = {b: measure(b, args.small, args.large, args.rounds) for b in backends}
    section = report(args.small, args.large, results)
    print(section)
    if args.markdown_out:
        replace_section(ROOT / args.markdown_out, START, END, section)
    worst = max(r[args.large][p] / r[args.small][p] for r in results.values() for p in PAGES)
    return 0 if worst <= MAX_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
