"""Screenshots of the dashboard's main pages, from a live server with a small demo inventory.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts ``callplane serve`` on a fresh SQLite file, fills a workspace through the native API,
signs in with Debian's Chromium (Playwright) and saves one PNG per page.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
from playwright.sync_api import Page, sync_playwright

from callplane.core.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
INBOUND = {"+16286666348": "Front desk", "+16286666349": "Front desk", "+14155550123": "Night line"}
OUTBOUND = ["+12125550147", "+12125550148", "+13125550199", "+442071838750", "+4930901820"]
MORE = [f"+1628555{n:04d}" for n in range(100, 124)]


@contextmanager
def serve(url: str, secret: str, key: str, folder: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CALLPLANE_SECRET_KEY": secret,
        "CALLPLANE_BOOTSTRAP_API_KEY": key,
        "CALLPLANE_LOG_LEVEL": "WARNING",
        "CALLPLANE_PUBLIC_BASE_URL": "https://callplane.example.com",
    }
    command = [sys.executable, "-m", "callplane", "serve", "--port", str(port)]
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def demo(api: httpx2.Client) -> None:
    def call(method: str, path: str, body: Any = None) -> Any:
        response = api.request(method, path, json=body)
        response.raise_for_status()
        return response.json()["data"]

    agents = {
        "Front desk": call(
            "POST",
            "/v1/agents",
            {"name": "Front desk", "type": "inbound", "stream_url": "wss://media.example.com/desk"},
        ),
        "Night line": call("POST", "/v1/agents", {"name": "Night line", "type": "inbound"}),
        "Sales": call(
            "POST",
            "/v1/agents",
            {"name": "Sales", "type": "outbound", "outbound_strategy": "local_presence"},
        ),
        "Renewals": call("POST", "/v1/agents", {"name": "Renewals", "type": "outbound"}),
    }
    every = [*INBOUND, *OUTBOUND, *MORE]
    call(
        "POST",
        "/v1/numbers/batch",
        {
            "numbers": [
                {
                    "e164": e,
                    "friendly_name": "Main line" if e == "+16286666348" else None,
                    "monthly_cost_cents": 115,
                }
                for e in every
            ]
        },
    )
    for e164, name in INBOUND.items():
        call(
            "POST",
            "/v1/numbers/assign",
            {"number_id": e164, "agent_id": agents[name]["id"], "assignment_type": "inbound"},
        )
    call("PUT", f"/v1/agents/{agents['Sales']['id']}/numbers", {"phone_numbers": OUTBOUND})
    call("PUT", f"/v1/agents/{agents['Renewals']['id']}/numbers", {"phone_numbers": OUTBOUND[:2]})
    primary = call("GET", f"/v1/numbers/{OUTBOUND[0][1:]}")["id"]
    call("PATCH", f"/v1/agents/{agents['Sales']['id']}", {"primary_number_id": primary})
    call("PATCH", "/v1/numbers/12125550147", {"max_calls_per_hour": 20, "max_calls_per_day": 200})


def shoot(page: Page, out: Path, name: str) -> None:
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print(out / f"{name}.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    secret, key = secrets.token_hex(16), "sk_live_" + secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="callplane-shots-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'demo.db'}"
        upgrade(url)
        with serve(url, secret, key, folder) as base:
            with httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as api:
                demo(api)
            csv_file = folder / "numbers.csv"
            csv_file.write_text(
                "e164,friendly_name\n+16505550100,Support\nnot-a-number,x\n"
                "+16505550101,\n+16505550100,again\n"
            )
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=args.chromium, args=CHROMIUM_ARGS
                )
                page = browser.new_page(base_url=base, viewport={"width": 1360, "height": 860})
                page.goto("/sign-in")
                shoot(page, args.out, "sign-in")
                page.get_by_label("API key").fill(key)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url("**/numbers")
                shoot(page, args.out, "numbers")
                page.goto("/numbers/16286666348")
                page.get_by_label("Inbound agent").select_option(label="Night line")
                page.get_by_role("button", name="Assign", exact=True).click()
                shoot(page, args.out, "number-conflict")
                page.goto("/agents")
                shoot(page, args.out, "agents")
                page.goto("/numbers?country=US&assignment=none")
                page.get_by_label("Select all 24 matching this filter").check()
                page.get_by_label("Agent to attach or detach").select_option(
                    label="Sales (outbound)"
                )
                page.get_by_role("button", name="Attach to agent…").click()
                shoot(page, args.out, "bulk-confirm")
                page.goto("/imports/new")
                page.get_by_label("CSV file").set_input_files(str(csv_file))
                page.get_by_role("button", name="Import", exact=True).click()
                page.get_by_text("Done:").wait_for()
                shoot(page, args.out, "import")
                page.goto("/routing?to=%2B1+628+666+6348&from=%2B44+20+7183+8750&agent=&call_to=")
                page.get_by_label("Outbound agent").select_option(label="Sales")
                page.get_by_label("Number to call").fill("+1 212 555 0100")
                page.get_by_role("button", name="Pick a caller ID").click()
                shoot(page, args.out, "routing")
                page.goto("/audit")
                shoot(page, args.out, "audit")
                page.goto("/telephony")
                shoot(page, args.out, "telephony")
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
