"""Agents, bulk actions, CSV import, audit log, routing tester and telephony, in Chromium."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from callplane.dashboard.formatting import international
from tests.dashboard.conftest import Site
from tests.dashboard.people import accessible, fresh_numbers, sign_in


def test_agents_created_edited_and_archived(page: Page, site: Site) -> None:
    ws = site.workspace("agents")
    (e164,) = fresh_numbers(1)
    ws.numbers(e164)
    sign_in(page, ws.key)
    page.get_by_role("link", name="Agents").click()
    accessible(page)
    page.get_by_role("link", name="New agent").click()
    accessible(page)
    page.get_by_label("Name").fill("Dialer")
    page.get_by_label("Type").select_option("outbound")
    page.get_by_label("Stream URL").fill("https://not-a-websocket")
    page.get_by_role("button", name="Create agent").click()
    expect(page.get_by_role("alert")).to_contain_text("Stream URL: must start with wss://")
    expect(page.get_by_label("Name")).to_have_value("Dialer")  # what was typed is kept
    page.get_by_label("Stream URL").fill("wss://media.example.com/dialer")
    page.get_by_label("Countries this agent may call").fill("us gb")
    page.get_by_role("button", name="Create agent").click()
    expect(page.get_by_role("status")).to_contain_text("Agent Dialer created")
    expect(page.get_by_text("US, GB")).to_be_visible()
    accessible(page)

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Name").fill("Dialer West")
    page.get_by_label("Caller-ID strategy").select_option("rotate")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dialer West")
    expect(page.get_by_text("rotate", exact=True)).to_be_visible()

    page.goto(f"/numbers/{e164[1:]}")
    page.get_by_label("Outbound agent").select_option(label="Dialer West")
    page.get_by_role("button", name="Attach", exact=True).click()
    page.get_by_role("button", name="Make primary for Dialer West").click()
    page.get_by_role("link", name="Dialer West").first.click()
    expect(page.get_by_role("heading", name="Numbers (1)")).to_be_visible()
    expect(page.get_by_text("primary", exact=True)).to_be_visible()

    page.get_by_role("link", name="Archive…").click()
    expect(page.get_by_text("This will release its 1 number")).to_be_visible()
    accessible(page)
    page.get_by_role("button", name="Archive Dialer West").click()
    expect(page.get_by_role("status")).to_contain_text("archived")
    page.goto("/agents")
    expect(page.get_by_role("link", name="Dialer West")).to_have_count(0)
    page.get_by_label("Show archived agents").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name="Dialer West")).to_be_visible()


def test_bulk_attach_detach_delete_with_confirmation_and_report(page: Page, site: Site) -> None:
    ws = site.workspace("bulk")
    ws.agent("inbound", "Front desk")
    ws.agent("outbound", "Sales")
    numbers = fresh_numbers(4)
    ws.numbers(*numbers)
    sign_in(page, ws.key)
    for e164 in numbers[:2]:
        page.get_by_label(f"Select {international(e164)}").check()
    page.get_by_label("Agent to attach or detach").select_option(label="Front desk (inbound)")
    page.get_by_role("button", name="Attach to agent…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm: attach 2 numbers")
    accessible(page)
    page.get_by_role("button", name="Yes, attach 2 numbers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Attach: 2 changed, 0 refused")

    page.goto("/numbers")
    page.get_by_label("Select all 4 matching this filter").check()
    page.get_by_label("Agent to attach or detach").select_option(label="Front desk (inbound)")
    page.get_by_role("button", name="Attach to agent…").click()
    page.get_by_role("button", name="Yes, attach 4 numbers").click()
    # Already answered by Front desk: success, nothing to do; the others are taken.
    expect(page.get_by_role("heading", level=1)).to_have_text("Attach: 4 changed, 0 refused")

    page.goto("/numbers?assignment=inbound")
    page.get_by_label("Select all 4 matching this filter").check()
    page.get_by_label("Agent to attach or detach").select_option(label="Sales (outbound)")
    page.get_by_role("button", name="Detach from agent…").click()
    page.get_by_role("button", name="Yes, detach 4 numbers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Detach: 0 changed, 4 refused")
    expect(page.get_by_role("cell", name="is not attached to Sales").first).to_be_visible()
    accessible(page)

    page.goto("/numbers")
    page.get_by_label(f"Select {international(numbers[0])}").check()
    page.get_by_role("button", name="Delete…").click()
    expect(page.get_by_text("detached from every agent and removed")).to_be_visible()
    page.get_by_role("button", name="Yes, delete 1 number").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete: 1 changed, 0 refused")
    page.get_by_role("link", name="Back to the list").click()
    expect(page.locator("h1 .count")).to_have_text("3 numbers")


def test_csv_import_with_progress_and_rejected_rows(page: Page, site: Site, tmp_path: Path) -> None:
    ws = site.workspace("import")
    other = site.workspace("import-other")
    good = fresh_numbers(3)
    (taken,) = fresh_numbers(1)
    other.numbers(taken)
    csv_file = tmp_path / "numbers.csv"
    csv_file.write_text(
        "e164,friendly_name\n"
        f"{good[0]},Main line\n"
        "not a number,Broken\n"
        f"{good[1]},\n"
        f"{taken},Someone else's\n"
        f"{good[0]},Twice\n"
        f"{good[2]},Last\n"
    )
    sign_in(page, ws.key)
    page.get_by_role("link", name="Import", exact=True).click()
    accessible(page)
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(
        "Done: 6 rows, 3 imported, 0 already in this workspace, 3 rejected", timeout=20_000
    )
    accessible(page)
    rejected = page.locator("table tbody tr")
    expect(rejected).to_have_count(3)
    expect(rejected.nth(0)).to_contain_text("invalid_phone_number")
    expect(rejected.nth(1)).to_contain_text("this number is not available")
    expect(rejected.nth(2)).to_contain_text("same number as line 2")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rejected rows (CSV)").click()
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0] == "line,value,code,reason"
    assert len(text.splitlines()) == 4 and "duplicate_in_file" in text
    page.get_by_role("link", name="See the numbers").click()
    expect(page.locator("h1 .count")).to_have_text("3 numbers")
    expect(page.get_by_text("Main line")).to_be_visible()


def test_audit_log_routing_tester_and_telephony(page: Page, site: Site) -> None:
    ws = site.workspace("routing")
    desk = ws.agent("inbound", "Front desk", stream_url="wss://media.example.com/desk")
    sales = ws.agent("outbound", "Sales")
    numbers = fresh_numbers(2)
    ws.numbers(*numbers)
    ws.api(
        "POST",
        "/v1/numbers/assign",
        {"number_id": numbers[0], "agent_id": desk["id"], "assignment_type": "inbound"},
    )
    ws.api("PUT", f"/v1/agents/{sales['id']}/numbers", {"phone_numbers": [numbers[1]]})
    ws.api("PATCH", f"/v1/numbers/{numbers[1][1:]}", {"max_calls_per_hour": 1})
    ws.verify(numbers[1])
    sign_in(page, ws.key)

    page.get_by_role("link", name="Audit log").click()
    accessible(page)
    page.get_by_label("Event type").fill("number.assigned")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("tbody th")).to_have_count(1)
    page.goto(f"/audit?resource={sales['id']}")
    expect(page.locator("tbody th")).to_have_text(["number.attached", "agent.created"])
    page.goto("/audit?since=2000-01-01&until=2000-01-02")
    expect(page.get_by_text("No events.")).to_be_visible()

    page.get_by_role("link", name="Routing tester").click()
    accessible(page)
    page.get_by_label("Number called").fill(international(numbers[0]))
    page.get_by_label("Caller (optional)").fill("+44 20 7183 8750")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#inbound-result")).to_contain_text(
        "Connect to Front desk (wss://media.example.com/desk) — reason: assigned"
    )
    api = ws.api("GET", f"/v1/routing/inbound?to=%2B{numbers[0][1:]}&from=%2B442071838750")
    assert api["action"] == "connect" and api["agent"]["name"] == "Front desk"
    for _ in range(2):  # a dry run uses no slot of the one-call-per-hour cap
        page.get_by_label("Outbound agent").select_option(label="Sales")
        page.get_by_label("Number to call").fill("+1 212 555 0100")
        page.get_by_role("button", name="Pick a caller ID").click()
        expect(page.locator("#outbound-result")).to_contain_text(
            f"It would call from {international(numbers[1])}"
        )
        expect(page.locator("#outbound-result")).to_contain_text("call 1 of the last hour")
    accessible(page)
    picked = ws.api("POST", "/v1/routing/outbound", {"agent_id": sales["id"], "to": "+12125550100"})
    assert picked["calls_last_hour"] == 1  # the dry runs used no slot of the cap; this one does
    page.get_by_role("button", name="Pick a caller ID").click()
    expect(page.get_by_role("alert")).to_contain_text("reached its call cap")

    page.get_by_role("link", name="Telephony").click()
    accessible(page)
    expect(page.get_by_label("Voice webhook URL")).to_have_value(
        re.compile(rf"/v1/telephony/twilio/{ws.id}/voice$")
    )
    page.get_by_label("Twilio account SID").fill("not-a-sid")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Twilio account SID: must be AC")
    page.get_by_label("Twilio account SID").fill("AC" + "0" * 32)
    page.get_by_label("Twilio auth token (not set)").fill("secret-token-123")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Telephony settings saved")
    expect(page.get_by_text(f"configured (account AC{'0' * 32})")).to_be_visible()
    assert "secret-token-123" not in page.content()
