"""The numbers list and one number's page, driven in Chromium as a person would."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.sync_api import Page, expect

from callplane.dashboard.formatting import international
from callplane.numbers.browse import COUNT_LIMIT
from tests.dashboard.conftest import Site
from tests.dashboard.people import accessible, fresh_numbers, sign_in


def test_sign_in_browse_filter_sort_and_page(page: Page, site: Site) -> None:
    ws = site.workspace("browse")
    numbers = fresh_numbers(7)
    ws.numbers(*numbers, *fresh_numbers(1, "+44207"))
    response = page.goto("/sign-in")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    accessible(page)
    page.get_by_label("API key").fill("sk_live_not-a-real-key-at-all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    sign_in(page, ws.key)
    cookie = next(c for c in page.context.cookies() if c["name"] == "cp_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert ws.key not in cookie["value"]
    expect(page.locator("h1 .count")).to_have_text("8 numbers")
    accessible(page)

    page.get_by_label("Per page").select_option("25")
    page.get_by_label("Digits or label").fill(international(numbers[3])[3:10])  # "628 ..."
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"q=628"))
    expect(page.locator("h1 .count")).to_have_text(re.compile(r"^[1-7] numbers?$"))
    expect(page.get_by_role("link", name=international(numbers[3]))).to_be_visible()
    expect(page.get_by_role("link", name="Remove filter Search: 628 ")).to_be_visible()
    accessible(page)

    page.get_by_label("Country").fill("GB")
    page.get_by_label("Digits or label").fill("")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("h1 .count")).to_have_text("1 number")
    page.go_back()  # the filter lives in the URL: back is the previous filter
    expect(page).to_have_url(re.compile(r"q=628"))
    expect(page.get_by_role("link", name=international(numbers[3]))).to_be_visible()

    page.goto("/numbers?sort=-number&country=US")
    rows = page.locator("tbody th[scope=row] a")
    expect(rows.first).to_have_text(international(max(numbers)))
    # A page that starts after the fifth number: two follow, five come before it.
    page.goto("/numbers?sort=number&country=US&per_page=25&after=" + quote(numbers[4]))
    expect(page.locator("tbody th[scope=row] a")).to_have_count(2)
    page.get_by_role("link", name="Previous").click()
    expect(page.locator("tbody th[scope=row] a")).to_have_count(5)
    expect(page.get_by_role("link", name="Previous")).to_have_count(0)
    page.get_by_role("link", name="Last").click()
    expect(page.locator("tbody th[scope=row] a").last).to_have_text(international(numbers[-1]))

    response = page.goto("/numbers?sort=sideways")
    assert response is not None and response.status == 422
    expect(page.get_by_role("alert")).to_contain_text("Sort: not one of")


def test_a_number_answered_replaced_attached_configured_and_deleted(page: Page, site: Site) -> None:
    ws = site.workspace("detail")
    front = ws.agent("inbound", "Front desk")
    ws.agent("inbound", "Night desk")
    ws.agent("outbound", "Sales")
    (e164,) = fresh_numbers(1)
    ws.numbers(e164)
    sign_in(page, ws.key)
    page.get_by_role("link", name=international(e164)).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(international(e164))
    accessible(page)

    page.get_by_label("Inbound agent").select_option(label="Front desk")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("now answered by Front desk")

    page.get_by_label("Inbound agent").select_option(label="Night desk")
    page.get_by_role("button", name="Assign", exact=True).click()
    alert = page.locator("#inbound-error")
    expect(alert).to_contain_text(f"{international(e164)} is answered by Front desk. Replace?")
    expect(page.get_by_text("Answered by: Front desk")).to_be_visible()
    accessible(page)
    page.get_by_role("button", name="Replace with Night desk").click()
    expect(page.get_by_text("Answered by: Night desk")).to_be_visible()

    page.get_by_label("Outbound agent").select_option(label="Sales")
    page.get_by_role("button", name="Attach", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Sales now calls from this number")
    page.get_by_role("button", name="Make primary for Sales").click()
    expect(page.get_by_role("status")).to_contain_text("primary caller ID")

    page.get_by_label("Outbound calls per hour").fill("lots")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-error")).to_contain_text("Calls per hour: must be a whole")
    page.get_by_label("Outbound calls per hour").fill("")
    page.get_by_label("When no agent answers").select_option("forward")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-error")).to_contain_text("Forwarding needs a phone number")
    page.get_by_label("Forward to").fill("+1 415 555 0100")
    page.get_by_label("Allowed caller countries").fill("us, ca")
    page.get_by_label("Outbound calls per hour").fill("30")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    expect(page.get_by_label("Forward to")).to_have_value("+14155550100")
    expect(page.get_by_label("Allowed caller countries")).to_have_value("US, CA")

    history = page.locator("section[aria-labelledby=history-h] tbody th")
    expect(history.first).to_have_text("number.updated")
    expect(history.filter(has_text="number.assigned")).to_have_count(2)
    expect(page.get_by_text(front["id"]).first).to_be_visible()  # Front desk's unassignment

    page.get_by_role("link", name="Delete this number…").click()
    expect(page.get_by_text("detach it from 1 outbound agent")).to_be_visible()
    expect(page.get_by_text("nothing happens at any provider")).to_be_visible()
    accessible(page)
    page.get_by_role("button", name=f"Delete {international(e164)}").click()
    expect(page.get_by_role("status")).to_contain_text(f"{international(e164)} was deleted")
    expect(page.locator("h1 .count")).to_have_text("0 numbers")


def test_signing_in_and_filtering_with_the_keyboard_alone(page: Page, site: Site) -> None:
    ws = site.workspace("keyboard")
    (e164,) = fresh_numbers(1)
    ws.numbers(e164)
    page.goto("/numbers")
    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("API key")).to_be_focused()
    page.keyboard.type(ws.key)
    page.keyboard.press("Enter")
    expect(page.locator("h1 .count")).to_have_text("1 number")
    page.get_by_label("Digits or label").focus()
    page.keyboard.type(e164[-4:])
    page.keyboard.press("Enter")  # submits the filter form
    expect(page).to_have_url(re.compile(rf"q={e164[-4:]}"))
    link = page.get_by_role("link", name=international(e164))
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(international(e164))


def test_a_search_is_counted_to_a_limit_and_in_full_on_demand(page: Page, site: Site) -> None:
    ws = site.workspace("counting")
    ws.numbers(*fresh_numbers(COUNT_LIMIT + 1))
    sign_in(page, ws.key)
    expect(page.locator("h1 .count")).to_have_text(f"{COUNT_LIMIT + 1:,} numbers")  # kept total
    page.get_by_label("Digits or label").fill("628")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("h1 .count")).to_have_text(f"more than {COUNT_LIMIT:,} numbers")
    accessible(page)
    page.get_by_role("link", name="Count them all").click()
    expect(page).to_have_url(re.compile(r"exact=1"))
    expect(page.locator("h1 .count")).to_have_text(f"{COUNT_LIMIT + 1:,} numbers")
    expect(page.get_by_role("link", name="Count them all")).to_have_count(0)
