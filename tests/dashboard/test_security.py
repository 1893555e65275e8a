"""What must never happen: a forged POST acting, a workspace seeing another's numbers, a revoked
key still signed in, the key showing up anywhere, a bad URL answered with a 500."""

from __future__ import annotations

import httpx2
from playwright.sync_api import Browser, Page, expect

from callplane.dashboard.formatting import international
from callplane.workspaces.service import revoke_key
from tests.dashboard.conftest import Site
from tests.dashboard.people import accessible, fresh_numbers, sign_in


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    page: Page, site: Site
) -> None:
    ws = site.workspace("csrf")
    (e164,) = fresh_numbers(1)
    ws.numbers(e164)
    sign_in(page, ws.key)
    forged = page.request.post(f"/numbers/{e164[1:]}/delete", form={"confirm": "yes"})
    assert forged.status == 403
    assert "Nothing was changed" in forged.text()
    wrong = page.request.post(f"/numbers/{e164[1:]}/delete", form={"csrf_token": "guess"})
    assert wrong.status == 403
    page.goto("/numbers")
    expect(page.locator("h1 .count")).to_have_text("1 number")
    # Signing out is a POST too: it needs the token.
    assert page.request.post("/sign-out", form={}).status == 403
    page.goto("/numbers")
    expect(page.locator("h1 .count")).to_have_text("1 number")


def test_two_workspaces_never_see_each_others_numbers(browser: Browser, site: Site) -> None:
    a, b = site.workspace("alpha"), site.workspace("beta")
    (mine,) = fresh_numbers(1)
    (theirs,) = fresh_numbers(1)
    a.numbers(mine)
    b.numbers(theirs)
    a_agent = a.agent("outbound", "Alpha caller")
    pages = []
    for ws in (a, b):
        context = browser.new_context(base_url=site.base_url)
        pages.append(context.new_page())
        sign_in(pages[-1], ws.key)
    alpha, beta = pages
    expect(beta.locator("h1 .count")).to_have_text("1 number")
    expect(beta.get_by_role("link", name=international(theirs))).to_be_visible()
    expect(beta.get_by_role("link", name=international(mine))).to_have_count(0)
    beta.goto(f"/numbers?q={mine[1:]}")
    expect(beta.locator("h1 .count")).to_have_text("0 numbers")
    response = beta.goto(f"/numbers/{mine[1:]}")
    assert response is not None and response.status == 404
    expect(beta.get_by_role("alert")).to_contain_text("There is no number")
    accessible(beta)
    assert beta.goto(f"/agents/{a_agent['id']}").status == 404  # type: ignore[union-attr]
    assert beta.goto(f"/numbers?agent={a_agent['id']}").status == 404  # type: ignore[union-attr]
    assert beta.goto(f"/audit?resource={a_agent['id']}").status == 200  # type: ignore[union-attr]
    expect(beta.get_by_text("No events.")).to_be_visible()
    alpha.goto("/numbers")
    expect(alpha.get_by_role("link", name=international(theirs))).to_have_count(0)
    for p in pages:
        p.context.close()


def test_a_revoked_key_is_signed_out_at_its_next_request(page: Page, site: Site) -> None:
    ws = site.workspace("revoked")
    sign_in(page, ws.key)
    with site.database.transaction() as session:
        revoke_key(session, ws.key_id)
    page.get_by_role("link", name="Agents").click()
    expect(page).to_have_url(f"{site.base_url}/sign-in?next=%2Fagents")
    page.get_by_label("API key").fill(ws.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("This API key has been revoked")


def test_signing_out_ends_the_session_even_for_a_copied_cookie(
    browser: Browser, page: Page, site: Site
) -> None:
    ws = site.workspace("sign-out")
    sign_in(page, ws.key)
    cookies = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{site.base_url}/sign-in")
    replay = browser.new_context(base_url=site.base_url)
    replay.add_cookies(cookies)  # type: ignore[arg-type]
    other = replay.new_page()
    other.goto("/numbers")
    assert "/sign-in" in other.url
    replay.close()


def test_the_key_is_never_logged_and_bad_urls_are_never_a_500(page: Page, site: Site) -> None:
    ws = site.workspace("logs")
    sign_in(page, ws.key)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    bad = [
        "/numbers?per_page=1000000",
        "/numbers?after=%00%ff",
        "/numbers?sort=number&after=nonsense",
        "/numbers?before=AAAA",
        "/numbers?country=ZZZ",
        "/numbers?agent=agt_nope",
        "/numbers?q=" + "9" * 200,
        "/numbers/not-a-number",
        "/numbers/%2B1",
        "/agents/agt_00000000-0000-0000-0000-000000000000",
        "/audit?since=yesterday",
        "/audit?after=!!!",
        "/routing?to=hello&agent=x&call_to=y",
        "/imports/unknown",
    ]
    with httpx2.Client(base_url=site.base_url, cookies=cookies) as client:
        for url in bad:
            response = client.get(url)
            assert 400 <= response.status_code < 500 or response.status_code == 200, url
            assert "text/html" in response.headers["content-type"], url
            assert response.headers["content-security-policy"].startswith("default-src 'self'")
        csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
        for path, form in [
            ("/numbers/bulk", {"action": "explode"}),
            ("/numbers/bulk", {"action": "delete", "list_url": "https://evil.example/"}),
            ("/numbers/bulk/apply", {"action": "attach", "numbers": "+1 x"}),
            ("/agents/new", {"name": "x" * 500}),
            ("/numbers/%2B1/settings", {"status": "gone"}),
        ]:
            response = client.post(path, data={"csrf_token": csrf, **form})
            assert 400 <= response.status_code < 500, (path, response.status_code)
        binary = {"file": ("numbers.csv", b"\xff\xfe\x00\x81 not text", "text/csv")}
        started = client.post("/imports", data={"csrf_token": csrf}, files=binary)
        assert started.status_code == 303
        page.goto(started.headers["location"])
        expect(page.get_by_role("alert")).to_contain_text("line 1: not valid utf-16 text")
    assert ws.key not in site.log_path.read_text()
