"""The service additions the dashboard reads through: browsing and history search."""

from __future__ import annotations

import datetime as dt

import pytest

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.errors import InvalidInput
from callplane.events.service import search_events
from callplane.numbers.browse import Window, browse_numbers
from callplane.numbers.service import NumberFilters
from tests.helpers import Tenant

NUMBERS = [f"+1628555{n:04d}" for n in (10, 20, 30, 40, 50)]


def actor_of(tenant: Tenant) -> Actor:
    workspace = ids.parse("workspace", tenant.workspace_id)
    assert workspace is not None
    return Actor(workspace, None, "req_test")


def e164s(tenant: Tenant, **kwargs: object) -> tuple[list[str], int, str | None, str | None]:
    with tenant.backend.database.session(write=False) as session:
        page = browse_numbers(session, actor_of(tenant), **kwargs)  # type: ignore[arg-type]
    return [v.e164 for v in page.items], page.total, page.previous_key, page.next_key


def test_pages_both_ways_in_either_order_with_the_total(tenant: Tenant) -> None:
    for e164 in reversed(NUMBERS):
        tenant.number(e164)
    f = NumberFilters()
    assert e164s(tenant, filters=f, sort="number", window=Window(), limit=2) == (
        NUMBERS[:2],
        5,
        None,
        NUMBERS[1],
    )
    assert e164s(tenant, filters=f, sort="number", window=Window(after=NUMBERS[1]), limit=2) == (
        NUMBERS[2:4],
        5,
        NUMBERS[2],
        NUMBERS[3],
    )
    assert e164s(tenant, filters=f, sort="number", window=Window(last=True), limit=2) == (
        NUMBERS[3:],
        5,
        NUMBERS[3],
        None,
    )
    assert e164s(tenant, filters=f, sort="number", window=Window(before=NUMBERS[3]), limit=2) == (
        NUMBERS[1:3],
        5,
        NUMBERS[1],
        NUMBERS[2],
    )
    assert e164s(tenant, filters=f, sort="-number", window=Window(), limit=3)[0] == [
        NUMBERS[4],
        NUMBERS[3],
        NUMBERS[2],
    ]
    newest, total, _, after = e164s(tenant, filters=f, sort="-created", window=Window(), limit=4)
    assert newest == NUMBERS[:4] and total == 5  # imported in reverse order
    assert after is not None
    rest = e164s(tenant, filters=f, sort="-created", window=Window(after=after), limit=4)[0]
    assert rest == [NUMBERS[4]]
    digits = NumberFilters(q="5550030")
    assert e164s(tenant, filters=digits, sort="number", window=Window(), limit=10)[:2] == (
        [NUMBERS[2]],
        1,
    )
    with pytest.raises(InvalidInput):
        e164s(tenant, filters=f, sort="number", window=Window(after="nonsense"), limit=2)


def test_a_number_history_is_found_by_resource_type_and_time(tenant: Tenant) -> None:
    number = tenant.number(NUMBERS[0])
    agent = tenant.agent("inbound", "Front desk")
    tenant.post(
        "/v1/numbers/assign",
        {"number_id": number["id"], "agent_id": agent["id"], "assignment_type": "inbound"},
    )
    tenant.number(NUMBERS[1])
    with tenant.backend.database.session(write=False) as session:

        def types(**kwargs: object) -> list[str]:
            page = search_events(session, actor_of(tenant), cursor=None, limit=50, **kwargs)  # type: ignore[arg-type]
            return [e.type for e in page.items]

        assert types(resource_id=number["id"]) == ["number.assigned", "number.imported"]
        assert types(resource_id=agent["id"], type_="number.assigned") == ["number.assigned"]
        assert types(resource_id="num_%") == []  # LIKE wildcards are matched literally
        future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        assert types(since=future) == []
        assert "number.imported" in types(until=future)
