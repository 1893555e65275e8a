"""Bulk import of a CSV through ``callplane numbers import``, the real CLI against a real server.

Writes a CSV of N rows where 1% are bad (not numbers, no number, a cost that is not cents),
runs the CLI as a subprocess (HTTP, batches of 1,000), then checks that every good row is in
the workspace and that every bad row is in the rejected-rows report with its line. A second
run of the same command must resume from the progress file and import nothing. Run:

    .venv/bin/python bench/bulk_import.py [--backend sqlite|postgresql|both] [--count 100000]
        [--markdown-out docs/benchmarks.md]

Any missing good row, unreported bad row or non-zero second import exits non-zero.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

from import_and_list import ROOT, numbers, prepare, server

START, END = "<!-- bench:bulk_import:start -->", "<!-- bench:bulk_import:end -->"
BAD_KINDS = [  # (number, monthly_cost_cents, expected code)
    ("not-a-number", "", "invalid_phone_number"),
    ("+1", "", "invalid_phone_number"),
    ("", "", "missing_number"),
    ("+1202555abcd", "", "invalid_phone_number"),
    ("+13055550142", "1.5", "invalid_monthly_cost"),
]


def write_csv(path: Path, count: int) -> tuple[int, dict[int, str]]:
    """``count`` rows, every 100th bad; returns (good rows, {line of a bad row: code})."""
    good = iter(numbers(count))
    bad: dict[int, str] = {}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["e164", "friendly_name", "monthly_cost_cents"])
        for i in range(count):
            line = i + 2
            if i % 100 == 99:
                number, cost, code = BAD_KINDS[(i // 100) % len(BAD_KINDS)]
                writer.writerow([number, "bad row", cost])
                bad[line] = code
            else:
                writer.writerow([next(good), f"line {line}", "115"])
    return count - len(bad), bad


def cli(base: str, key: str, csv_path: Path, report: Path) -> tuple[float, int, str]:
    env = {**os.environ, "CALLPLANE_URL": base, "CALLPLANE_API_KEY": key, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "callplane", "numbers", "import", str(csv_path)]
    start = time.perf_counter()
    done = subprocess.run(
        [*cmd, "--report", str(report)], env=env, capture_output=True, text=True, check=False
    )
    return time.perf_counter() - start, done.returncode, done.stdout + done.stderr


def run(backend: str, count: int, failures: list[str]) -> dict[str, str]:
    key = "sk_live_" + secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="callplane-bench-") as tmp_name:
        tmp = Path(tmp_name)
        url, version = prepare(backend, tmp)
        csv_path, report = tmp / "numbers.csv", tmp / "rejected.csv"
        good, bad = write_csv(csv_path, count)
        with server(url, key, tmp) as base:
            first_s, first_rc, first_out = cli(base, key, csv_path, report)
            with report.open() as handle:
                reported = {int(r["line"]): r["code"] for r in csv.DictReader(handle)}
            second_s, second_rc, second_out = cli(base, key, csv_path, report)
            summary = httpx2.get(
                f"{base}/v1/numbers/summary", headers={"Authorization": f"Bearer {key}"}
            ).json()["data"]
    if first_rc != 3:  # some rows rejected
        failures.append(f"{backend}: first run exited {first_rc}:\n{first_out[-2000:]}")
    if summary["total"] != good:
        failures.append(f"{backend}: {summary['total']} numbers in the workspace, expected {good}")
    if reported != bad:
        failures.append(f"{backend}: rejected-rows report differs from the {len(bad)} bad rows")
    if second_rc != 3 or " 0 imported" not in second_out:
        failures.append(f"{backend}: the re-run imported again:\n{second_out[-2000:]}")
    return {
        "Database": version,
        "Rows / bad rows": f"{count:,} / {len(bad):,}",
        "Import: total (s)": f"{first_s:.1f}",
        "Import: rows/s (all rows, CLI start to exit)": f"{count / first_s:,.0f}",
        "Numbers in the workspace afterwards": f"{summary['total']:,}",
        "Bad rows reported with line and reason": f"{len(reported):,}",
        "Re-run (resumes from the progress file): total (s)": f"{second_s:.1f}",
    }


def markdown(results: dict[str, dict[str, str]], command: str) -> str:
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    backends = list(results)
    metrics = list(next(iter(results.values())))
    lines = [
        START,
        "### Results",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with:",
        "",
        "```sh",
        command,
        "```",
        "",
        f"- CPUs (nproc): {os.cpu_count()}",
        f"- Python: {platform.python_version()}",
        "",
        "| Metric | " + " | ".join(names[b] for b in backends) + " |",
        "|---" * (len(backends) + 1) + "|",
    ]
    lines += [f"| {m} | " + " | ".join(results[b][m] for b in backends) + " |" for m in metrics]
    return "\n".join([*lines, "", END])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--markdown-out", type=Path)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    failures: list[str] = []
    results = {b: run(b, args.count, failures) for b in backends}
    command = ".venv/bin/python bench/bulk_import.py " + shlex.join(sys.argv[1:])
    text = markdown(results, command.strip())
    print(text)
    if args.markdown_out:
        path = args.markdown_out if args.markdown_out.is_absolute() else ROOT / args.markdown_out
        doc = path.read_text()
        if START in doc:
            doc = doc[: doc.index(START)] + text + doc[doc.index(END) + len(END) :]
        else:
            doc = doc.rstrip("\n") + "\n\n" + text + "\n"
        path.write_text(doc)
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
