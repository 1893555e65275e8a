"""The dashboard's numbers page on a 1,000-number workspace and on a large one, in one run.

Each size gets a fresh database (numbers loaded straight into it, 10% with an inbound agent),
a real ``callplane serve`` and a signed-in session. Four pages are timed end to end over HTTP,
rendered HTML included: the first page, the last page, a digits search and a country filter.

    .venv/bin/python bench/dashboard_numbers.py [--backend sqlite|postgresql]
        [--small 1000] [--large 1000000] [--repeat 15] [--markdown-out docs/benchmarks.md]

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
PAGES = {
    "first page": "/numbers",
    "last page": "/numbers?last=1",
    "digits search (q=4155)": "/numbers?q=4155",
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


def measure(backend: str, count: int, repeat: int) -> dict[str, float]:
    """Median milliseconds per page on a fresh workspace of ``count`` numbers."""
    with temp_dir() as tmp:
        url, _ = prepare(backend, tmp, schema=f"callplane_bench_dashboard_{count}")
        migrate(url)
        workspace, (agent,) = setup_workspace(
            url, SECRET, KEY, "wss://media.example.com", [{"name": "Desk", "type": "inbound"}]
        )
        started = time.perf_counter()
        rows = [NumberRow(e, agent if i % 10 == 0 else None) for i, e in enumerate(numbers(count))]
        load_numbers(url, workspace, rows)
        print(f"{count:,} numbers loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        with server(url, SECRET, tmp) as srv, httpx2.Client(base_url=srv.base, timeout=120) as c:
            sign_in(c)
            result = {}
            for name, path in PAGES.items():
                for _ in range(3):  # warm the caches and the query plans
                    c.get(path).raise_for_status()
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    response = c.get(path)
                    times.append(time.perf_counter() - start)
                    if response.status_code != 200 or "<table" not in response.text:
                        raise RuntimeError(f"{path}: {response.status_code}")
                result[name] = median(times) * 1000
            return result


def report(backend: str, small: int, large: int, results: dict[int, dict[str, float]]) -> str:
    command = "python " + shlex.join(["bench/dashboard_numbers.py", *sys.argv[1:]])
    lines = [
        START,
        "## Dashboard numbers page",
        "",
        f"{small:,} vs {large:,} numbers, {LABELS[backend]}.",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {source_state()} with:",
        "",
        "```sh",
        f".venv/bin/{command}",
        "```",
        "",
        *[f"- {fact}" for fact in machine()],
        "",
        "Median of the timed requests, milliseconds, whole HTTP round trip with the rendered "
        "HTML (50 rows, total count included).",
        "",
        f"| page | {small:,} numbers | {large:,} numbers | ratio | within {MAX_RATIO}x |",
        "|---|---|---|---|---|",
    ]
    for name in PAGES:
        a, b = results[small][name], results[large][name]
        ok = "yes" if b / a <= MAX_RATIO else "**no**"
        lines.append(f"| {name} | {a:.1f} | {b:.1f} | {b / a:.2f} | {ok} |")
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--markdown-out", type=Path)
    args = parser.parse_args()
    results = {size: measure(args.backend, size, args.repeat) for size in (args.small, args.large)}
    section = report(args.backend, args.small, args.large, results)
    print(section)
    if args.markdown_out:
        replace_section(ROOT / args.markdown_out, START, END, section)
    worst = max(results[args.large][p] / results[args.small][p] for p in PAGES)
    return 0 if worst <= MAX_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
