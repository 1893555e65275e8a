"""Look-ups by E.164, slug or id use a unique index, and numeric caps mean the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, text

from tests.helpers import Backend, Tenant, error_code

SIZE = 2000


def fill(tenant: Tenant) -> list[dict[str, Any]]:
    created: list[dict[str, Any]] = []
    for start in range(0, SIZE, 1000):
        numbers = [{"e164": f"+1415{7000000 + i}"} for i in range(start, start + 1000)]
        response = tenant.post("/v1/numbers/batch", {"numbers": numbers})
        assert response.status_code == 201, response.text
        created += response.json()["data"]
    return created


def plans_of(backend: Backend, request: Callable[[], Any]) -> list[str]:
    """The query plans of every statement on phone_numbers that ``request`` ran."""
    seen: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if statement.startswith("SELECT") and "FROM phone_numbers" in statement:
            seen.append((statement, parameters))

    engine = backend.database.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        request()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert seen
    plans = []
    with engine.connect() as connection:
        if backend.name == "postgresql":
            connection.execute(text("ANALYZE phone_numbers"))
            connection.execute(text("SET enable_seqscan = off"))  # no index: still a Seq Scan
        explain = "EXPLAIN QUERY PLAN " if backend.name == "sqlite" else "EXPLAIN "
        for statement, parameters in seen:
            rows = connection.exec_driver_sql(explain + statement, parameters).all()
            plans.append(
                "\n".join(str(row[-1] if backend.name == "sqlite" else row[0]) for row in rows)
            )
    return plans


def assert_by_unique_index(backend: Backend, plan: str) -> None:
    if backend.name == "sqlite":
        assert "SCAN phone_numbers" not in plan, plan
        assert "(workspace_id=?)" not in plan, plan  # every number of the workspace
        assert "e164=?" in plan or "id=?" in plan, plan
    else:
        assert "Seq Scan" not in plan, plan
        assert "uq_phone_numbers_e164" in plan or "id = " in plan, plan


@pytest.mark.parametrize("form", ["e164", "slug", "id"])
def test_a_lookup_does_not_walk_the_workspace(tenant: Tenant, backend: Backend, form: str) -> None:
    number = fill(tenant)[SIZE // 2]
    reference = {"e164": number["e164"], "slug": number["slug"], "id": number["id"]}[form]
    plans = plans_of(backend, lambda: tenant.get(f"/v1/numbers/{reference}"))
    for plan in plans:
        assert_by_unique_index(backend, plan)


def test_a_mixed_bulk_reference_list_uses_the_indexes(tenant: Tenant, backend: Backend) -> None:
    numbers = fill(tenant)
    agent = tenant.agent("outbound")
    body = {"phone_numbers": [numbers[1]["e164"]], "number_ids": [numbers[2]["id"]]}
    response: list[Any] = []
    plans = plans_of(
        backend, lambda: response.append(tenant.put(f"/v1/agents/{agent['id']}/numbers", body))
    )
    assert response[0].status_code == 200, response[0].text
    for plan in plans:
        assert_by_unique_index(backend, plan)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_calls_per_hour", 2**40),
        ("max_calls_per_hour", 2**31),
        ("max_calls_per_day", 2**40),
        ("max_calls_per_hour", 0),
    ],
)
def test_call_caps_have_one_range_on_every_database(tenant: Tenant, field: str, value: int) -> None:
    number = tenant.number("+14155550100")
    response = tenant.patch(f"/v1/numbers/{number['id']}", {field: value})
    assert (response.status_code, error_code(response)) == (422, "invalid_request")
    assert response.json()["error"]["details"]["errors"][0]["field"] == field
    fine = tenant.patch(f"/v1/numbers/{number['id']}", {field: 1_000_000})
    assert fine.status_code == 200, fine.text
