"""The API explorer in a real browser, with the internet cut off: /docs lists every operation,
"Authorize" takes an API key and "Try it out" answers; /redoc renders; the CSP holds."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from playwright.sync_api import Browser, Page, Route

from tests.dashboard.conftest import Site


class OfflinePage:
    """A page whose requests to anywhere but the server are refused (and remembered), and
    whose console errors (CSP violations among them) are remembered."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page = page
        self.outside: list[str] = []
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.context.route("**/*", self._only(origin))

    def _only(self, origin: str):  # type: ignore[no-untyped-def]
        def handle(route: Route) -> None:
            url = route.request.url
            if url.startswith((origin, "data:", "blob:")):
                route.continue_()
            else:
                self.outside.append(url)
                route.abort()

        return handle


@pytest.fixture
def offline(browser: Browser, site: Site) -> Iterator[OfflinePage]:
    context = browser.new_context(base_url=site.base_url)
    context.set_default_timeout(20_000)
    yield OfflinePage(context.new_page(), site.base_url)
    context.close()


def _operations(site: Site) -> int:
    """How many operations the document has, each counted under each of its tags (as both
    Swagger UI and ReDoc show them)."""
    document = httpx2.get(f"{site.base_url}/openapi.json", timeout=30).json()
    methods = {"get", "put", "post", "delete", "patch"}
    return sum(
        len(operation.get("tags", []))
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in methods
    )


def test_swagger_ui_renders_every_operation_offline_and_tries_one(
    offline: OfflinePage, site: Site
) -> None:
    key = site.workspace("Explorer").key
    page = offline.page
    response = page.goto("/docs")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() == _operations(site)

    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".modal-ux input[type=text]").fill(key)
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()

    listing = page.locator("#operations-numbers-list_numbers_v1_numbers_get")
    listing.locator(".opblock-summary").click()
    listing.get_by_role("button", name="Try it out").click()
    listing.get_by_role("button", name="Execute").click()
    status = listing.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert offline.outside == []
    assert offline.errors == []


def test_redoc_renders_offline_under_the_csp(offline: OfflinePage, site: Site) -> None:
    page = offline.page
    response = page.goto("/redoc")
    assert response is not None
    assert "style-src 'self'" in response.headers["content-security-policy"]
    operations = page.locator("[data-section-id^='operation/']")
    operations.first.wait_for()
    assert operations.count() == _operations(site)
    assert page.locator("#operation\\/list_numbers_v1_numbers_get").get_by_text("401").count()
    assert offline.outside == []
    # What the policy blocked, and nothing else went wrong: the stylesheet ReDoc's scrollbar
    # library writes before ReDoc can give it the nonce, and ReDoc's logo from its CDN.
    blocked = [e for e in offline.errors if "violates the following Content Security" in e]
    assert all("inline style" in e or "cdn.redoc.ly" in e for e in blocked), blocked
    assert [e for e in offline.errors if e not in blocked] == []
