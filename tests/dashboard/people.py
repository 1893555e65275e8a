"""What a person does in the dashboard, as small steps the browser tests share."""

from __future__ import annotations

import itertools
import random

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

_axe = Axe()
_serial = itertools.count(random.randrange(2_000_000, 9_000_000, 1000))


def fresh_numbers(count: int, prefix: str = "+1628") -> list[str]:
    """Numbers no other test has used: an E.164 exists once in the whole installation."""
    return [f"{prefix}{next(_serial)}" for _ in range(count)]


def sign_in(page: Page, key: str) -> None:
    page.goto("/numbers")
    assert "/sign-in" in page.url
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Numbers")
    assert key not in page.url and key not in page.content()


def accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now.

    The page is first let finish loading: right after a click on a link the new document may
    still be empty, and axe then fails on its missing ``documentElement``.
    """
    page.wait_for_load_state("load")
    results = _axe.run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: " + "; ".join(bad)
