"""Importing numbers, one or a batch, and listing them with filters and cursors."""

from __future__ import annotations

from tests.helpers import Tenant, error_code


def test_import_derives_country_type_and_validity(tenant: Tenant) -> None:
    us = tenant.number("+16286666348", friendly_name="Main line", monthly_cost_cents=115)
    assert us["slug"] == "16286666348"
    assert (us["country_code"], us["number_type"], us["valid"]) == ("US", "local", True)
    assert (us["source"], us["status"], us["monthly_cost_cents"]) == ("imported", "active", 115)
    fr = tenant.number("+33782990580")
    assert (fr["country_code"], fr["number_type"]) == ("FR", "mobile")
    toll_free = tenant.number("+18005559876")
    assert toll_free["number_type"] == "toll_free"
    # The seed's +12131231214 is possible but not valid: kept and flagged.
    possible = tenant.number("+12131231214")
    assert (possible["valid"], possible["number_type"], possible["country_code"]) == (
        False,
        "other",
        "US",
    )


def test_impossible_or_malformed_numbers_are_422_naming_field_and_value(tenant: Tenant) -> None:
    for value in ("+1231242151", "16286666348", "+1 628 666 6348", "+", "+12345678901234567"):
        response = tenant.post("/v1/numbers", {"e164": value})
        assert response.status_code == 422, value
        body = response.json()["error"]
        assert body["code"] == "invalid_phone_number"
        assert body["details"] == {
            "errors": [
                {
                    "field": "e164",
                    "message": body["message"],
                    "type": "invalid_phone_number",
                    "value": value,
                }
            ]
        }
        assert value in body["message"]


def test_duplicate_import_is_409(tenant: Tenant) -> None:
    tenant.number("+12025550120")
    response = tenant.post("/v1/numbers", {"e164": "+12025550120"})
    assert response.status_code == 409
    assert error_code(response) == "number_already_exists"


def test_batch_import_is_all_or_nothing_with_per_item_errors(tenant: Tenant) -> None:
    tenant.number("+12025550130")
    response = tenant.post(
        "/v1/numbers/batch",
        {
            "numbers": [
                {"e164": "+12025550131"},
                {"e164": "+1231242151"},
                {"e164": "+12025550131"},
                {"e164": "+12025550130"},
            ]
        },
    )
    assert response.status_code == 422
    assert error_code(response) == "batch_invalid"
    errors = response.json()["error"]["details"]["errors"]
    assert [(e["index"], e["type"]) for e in errors] == [
        (1, "invalid_phone_number"),
        (2, "duplicate_in_batch"),
        (3, "number_already_exists"),
    ]
    assert len(tenant.get("/v1/numbers").json()["data"]) == 1

    ok = tenant.post(
        "/v1/numbers/batch",
        {"numbers": [{"e164": f"+1202555014{i}", "friendly_name": f"n{i}"} for i in range(5)]},
    )
    assert ok.status_code == 201
    assert [n["e164"] for n in ok.json()["data"]] == [f"+1202555014{i}" for i in range(5)]
    batch_events = tenant.events("number.batch_imported")
    assert len(batch_events) == 1 and batch_events[0]["after"]["count"] == 5


def test_oversized_batches_are_422_naming_the_limit(tenant: Tenant) -> None:
    numbers = [{"e164": f"+1202{2000000 + i}"} for i in range(1001)]
    response = tenant.post("/v1/numbers/batch", {"numbers": numbers})
    assert response.status_code == 422
    assert error_code(response) == "batch_too_large"
    assert "1000" in response.json()["error"]["message"]
    agent = tenant.agent("outbound")
    attach = tenant.put(
        f"/v1/agents/{agent['id']}/numbers", {"phone_numbers": [n["e164"] for n in numbers]}
    )
    assert attach.status_code == 422
    assert error_code(attach) == "batch_too_large"


def test_list_filters_and_text_search(tenant: Tenant) -> None:
    inbound, outbound = tenant.agent("inbound"), tenant.agent("outbound")
    tenant.number("+12025550150", friendly_name="Support desk")
    tenant.number("+12025550151")
    tenant.number("+33782990580")
    tenant.number("+18005559876")
    tenant.post(
        "/v1/numbers/assign",
        {"number_id": "+12025550150", "agent_id": inbound["id"], "assignment_type": "inbound"},
    )
    tenant.put(f"/v1/agents/{outbound['id']}/numbers", {"phone_numbers": ["+12025550151"]})

    def e164s(**params: str) -> list[str]:
        response = tenant.get("/v1/numbers", params=params)
        assert response.status_code == 200, response.text
        return sorted(n["e164"] for n in response.json()["data"])

    assert e164s(assignment="inbound") == ["+12025550150"]
    assert e164s(assignment="outbound") == ["+12025550151"]
    assert e164s(assignment="none") == ["+18005559876", "+33782990580"]
    assert e164s(agent_id=outbound["id"]) == ["+12025550151"]
    assert e164s(agent_id=inbound["id"], assignment="outbound") == []
    assert e164s(country_code="fr") == ["+33782990580"]
    assert e164s(number_type="toll_free") == ["+18005559876"]
    assert e164s(q="support") == ["+12025550150"]
    assert e164s(q="3378299") == ["+33782990580"]
    assert e164s(q="%") == []
    assert e164s(status="suspended") == []
    tenant.patch("/v1/numbers/+18005559876", {"status": "suspended"})
    assert e164s(status="suspended") == ["+18005559876"]


def test_cursor_pagination_visits_every_number_once(tenant: Tenant) -> None:
    created = tenant.post(
        "/v1/numbers/batch", {"numbers": [{"e164": f"+120255502{i:02d}"} for i in range(23)]}
    ).json()["data"]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "5", **({"cursor": cursor} if cursor else {})}
        body = tenant.get("/v1/numbers", params=params).json()
        seen += [n["id"] for n in body["data"]]
        pages += 1
        if not body["pagination"]["has_more"]:
            break
        cursor = body["pagination"]["next_cursor"]
    assert pages == 5
    assert seen == sorted(n["id"] for n in created)
    bad = tenant.get("/v1/numbers", params={"cursor": "!!not-a-cursor!!"})
    assert bad.status_code == 422
    assert error_code(bad) == "invalid_cursor"


def test_update_number_and_reject_nulls(tenant: Tenant) -> None:
    number = tenant.number("+12025550160")
    updated = tenant.patch(
        f"/v1/numbers/{number['id']}", {"friendly_name": "Front desk", "monthly_cost_cents": 200}
    )
    assert updated.json()["data"]["friendly_name"] == "Front desk"
    assert updated.json()["data"]["monthly_cost_cents"] == 200
    refused = tenant.patch(f"/v1/numbers/{number['id']}", {"status": None})
    assert refused.status_code == 422
    assert tenant.patch(f"/v1/numbers/{number['id']}", {"e164": "+12025550161"}).status_code == 422
