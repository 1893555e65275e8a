"""The numbers list's search index and kept totals agree with the rows, whatever changed them.

Both are kept by the database (migration 0180): a trigram index for text anywhere in a number
or its label, and per-workspace counts by (country, status) for the list's total. These tests
change numbers by every route there is (single and batch imports, updates, deletes, a direct
SQL update, a workspace's cascade, concurrent writers) and compare with the rows themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
from alembic import command
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.orm import Session

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import Database, create_db_engine
from callplane.core.migrate import alembic_config
from callplane.numbers import search
from callplane.numbers.browse import COUNT_LIMIT, SORTS, Window, browse_numbers
from callplane.numbers.models import NumberCount, PhoneNumber
from callplane.numbers.search import FEW_CANDIDATES
from callplane.numbers.service import NumberFilters, NumberInput, delete_number, import_number
from callplane.workspaces.models import Workspace
from tests.conftest import PG_SCHEMA
from tests.helpers import Backend, Tenant, make_client, make_tenant
from tests.live_server import live_server

COUNTRIES = ("US", "GB", "")
STATUSES = ("active", "suspended")
PAGE = 7
COUNT_SHARDS = 32  # migration 0195: a PostgreSQL connection counts into pg_backend_pid() % 32


def _searched(tenant: Tenant, q: str) -> list[str]:
    response = tenant.get("/v1/numbers", params={"q": q, "limit": 100})
    assert response.status_code == 200, response.text
    return sorted(n["e164"] for n in response.json()["data"])


def test_text_anywhere_in_the_number_or_its_label_is_found(tenant: Tenant) -> None:
    tenant.post(
        "/v1/numbers/batch",
        {
            "numbers": [
                {"e164": "+14155550101", "friendly_name": "Front Desk"},
                {"e164": "+14155550102", "friendly_name": "100% sales_team"},
                {"e164": "+442071838750", "friendly_name": 'The "London" line'},
                {"e164": "+16285550103"},
            ]
        },
    )
    assert _searched(tenant, "5550") == ["+14155550101", "+14155550102", "+16285550103"]
    assert _searched(tenant, "0718387") == ["+442071838750"]
    assert _searched(tenant, "front desk") == ["+14155550101"]  # a label, any case
    assert _searched(tenant, "0% s") == ["+14155550102"]
    assert _searched(tenant, "s_t") == ["+14155550102"]  # _ and % are text, not wildcards
    assert _searched(tenant, "%") == ["+14155550102"]
    assert _searched(tenant, '"london"') == ["+442071838750"]
    assert _searched(tenant, "03") == ["+16285550103"]  # shorter than a trigram: still found
    assert _searched(tenant, "9999") == []

    assert tenant.patch("/v1/numbers/+14155550101", {"friendly_name": "Night line"}).is_success
    assert _searched(tenant, "desk") == []
    assert _searched(tenant, "night") == ["+14155550101"]
    assert tenant.delete("/v1/numbers/+16285550103").is_success
    assert _searched(tenant, "6285550") == []


def test_another_workspaces_numbers_are_never_found(tenant: Tenant, other_tenant: Tenant) -> None:
    tenant.number("+14155550111", friendly_name="Shared name")
    other_tenant.number("+14155550112", friendly_name="Shared name")
    assert _searched(tenant, "shared") == ["+14155550111"]
    assert _searched(other_tenant, "5550") == ["+14155550112"]


def _actor(tenant: Tenant) -> Actor:
    workspace = ids.parse("workspace", tenant.workspace_id)
    assert workspace is not None
    return Actor(workspace, None, "req_test")


def _assert_totals_match_rows(tenant: Tenant) -> None:
    """Every total the list reads from the kept counts equals a count of the rows."""
    actor = _actor(tenant)
    with tenant.backend.database.session(write=False) as session:
        for country, status in itertools.product((None, *COUNTRIES), (None, *STATUSES)):
            filters = NumberFilters(country_code=country or None, status=status)
            page = browse_numbers(session, actor, filters, sort="created", window=Window(), limit=1)
            rows = select(func.count()).where(PhoneNumber.workspace_id == actor.workspace_id)
            if country:
                rows = rows.where(PhoneNumber.country_code == country)
            if status:
                rows = rows.where(PhoneNumber.status == status)
            assert page.total_is_exact
            assert page.total == session.scalar(rows), (country, status)


def test_the_kept_totals_follow_every_change(tenant: Tenant, other_tenant: Tenant) -> None:
    us = [f"+1628555{n:04d}" for n in range(30)]
    gb = [f"+44207183{n:04d}" for n in range(10)]
    assert tenant.post("/v1/numbers/batch", {"numbers": [{"e164": e} for e in us]}).is_success
    for e164 in gb:
        tenant.number(e164)
    other_tenant.number("+16285559999")
    _assert_totals_match_rows(tenant)

    for e164 in us[:7] + gb[:2]:
        assert tenant.patch(f"/v1/numbers/{e164}", {"status": "suspended"}).is_success
    assert tenant.patch(f"/v1/numbers/{us[0]}", {"status": "active"}).is_success
    assert tenant.patch(f"/v1/numbers/{us[1]}", {"friendly_name": "same status"}).is_success
    for e164 in us[20:] + gb[5:6]:
        assert tenant.delete(f"/v1/numbers/{e164}").is_success
    _assert_totals_match_rows(tenant)

    refused = tenant.post("/v1/numbers/batch", {"numbers": [{"e164": us[2]}, {"e164": "x"}]})
    assert refused.status_code == 422  # a refused batch counts nothing
    with tenant.backend.database.transaction() as session:
        session.execute(
            update(PhoneNumber).where(PhoneNumber.e164.in_(us[10:13])).values(country_code="GB")
        )
        session.execute(  # no country: counted under none
            update(PhoneNumber).where(PhoneNumber.e164 == us[13]).values(country_code=None)
        )
    _assert_totals_match_rows(tenant)
    _assert_totals_match_rows(other_tenant)

    workspace = ids.parse("workspace", tenant.workspace_id)
    with tenant.backend.database.transaction() as session:
        session.execute(delete(Workspace).where(Workspace.id == workspace))
        left = session.scalars(select(NumberCount.workspace_id).distinct()).all()
    assert [ids.render("workspace", w) for w in left] == [other_tenant.workspace_id]


async def _race(base_url: str, key: str, batches: list[list[str]], doomed: list[str]) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        imports = [
            client.post("/v1/numbers/batch", json={"numbers": [{"e164": e} for e in batch]})
            for batch in batches
        ]
        deletes = [client.delete(f"/v1/numbers/{e}") for e in doomed]
        suspensions = [
            client.patch(f"/v1/numbers/{e}", json={"status": "suspended"})
            for batch in batches
            for e in batch[:2]
        ]
        responses = await asyncio.gather(*imports, *deletes, *suspensions)
    # A writer aborted by the database to break a deadlock is told to retry; nothing else fails.
    assert all(r.status_code in (200, 201, 404, 409, 503) for r in responses), [
        r.text for r in responses if r.status_code >= 500 and r.status_code != 503
    ]


def test_concurrent_writers_leave_exact_totals(tenant: Tenant, tmp_path: Path) -> None:
    present = [f"+44207184{n:04d}" for n in range(20)]
    tenant.post("/v1/numbers/batch", {"numbers": [{"e164": e} for e in present]})
    batches = [[f"+1628556{b}{n:03d}" for n in range(40)] for b in range(8)]
    batches += [[f"+44207185{b}{n:03d}" for n in range(40)] for b in range(4)]
    with live_server(tenant.backend.url, tmp_path / "server.log") as base_url:
        asyncio.run(_race(base_url, tenant.key, batches, present))
    _assert_totals_match_rows(tenant)
    with tenant.backend.database.session(write=False) as session:
        assert session.scalar(text("SELECT count(*) FROM phone_numbers")) == 12 * 40


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_creates_and_deletes_in_one_count_do_not_wait_for_each_others_commit(
    tenant: Tenant,
) -> None:
    """Two transactions on connections of different count shards (migration 0195) each create
    and delete a number of the same (workspace, country, status), neither committed: neither
    waits for the other's lock (one kept count row made the second wait until the first's
    COMMIT; here a 2 s lock wait fails), and the summed totals are exact after both commit."""
    present = ["+16285570001", "+16285570002"]
    tenant.post("/v1/numbers/batch", {"numbers": [{"e164": e} for e in present]})
    actor, database = _actor(tenant), tenant.backend.database
    with contextlib.ExitStack() as stack:
        by_shard: dict[int, Session] = {}
        for _ in range(8):  # a pool's connections; two of different shards, all but surely
            session = stack.enter_context(database.session(write=True))
            shard = session.scalar(text("SELECT pg_backend_pid() % :n"), {"n": COUNT_SHARDS})
            by_shard.setdefault(int(shard or 0), session)
            if len(by_shard) == 2:
                break
        writers = list(by_shard.values())
        assert len(writers) == 2
        for session in writers:
            session.execute(text("SET LOCAL lock_timeout = '2s'"))
        for index, session in enumerate(writers):
            import_number(session, actor, NumberInput(f"+1628557010{index}"))
            delete_number(session, actor, present[index])
        for session in writers:
            session.commit()
    _assert_totals_match_rows(tenant)
    with database.session(write=False) as session:
        shards = select(func.count(NumberCount.shard.distinct())).where(
            NumberCount.workspace_id == actor.workspace_id
        )
        assert (session.scalar(shards) or 0) >= 2


def test_a_search_with_many_matches_is_counted_to_the_limit_and_paged_in_order(
    tenant: Tenant,
) -> None:
    matching = [f"+1628555{n:04d}" for n in range(FEW_CANDIDATES + 10)]
    for start in range(0, len(matching), 1000):
        batch = [{"e164": e} for e in matching[start : start + 1000]]
        assert tenant.post("/v1/numbers/batch", {"numbers": batch}).is_success
    tenant.post("/v1/numbers/batch", {"numbers": [{"e164": f"+1415555{n:04d}"} for n in range(5)]})
    actor, digits = _actor(tenant), NumberFilters(q="628555")
    statements: list[str] = []

    def watch(*args: Any) -> None:
        statements.append(args[2])

    engine = tenant.backend.database.engine
    with tenant.backend.database.session(write=False) as session:
        first = browse_numbers(session, actor, digits, sort="number", window=Window(), limit=50)
        last = browse_numbers(
            session, actor, digits, sort="-number", window=Window(last=True), limit=50
        )
        exact = browse_numbers(
            session, actor, digits, sort="number", window=Window(), limit=50, count_limit=None
        )
        event.listen(engine, "before_cursor_execute", watch)
        try:  # more than the count's limit: the pages walk the id index, for 4 digits as well
            walked = [
                browse_numbers(session, actor, NumberFilters(q=q), sort=sort, window=w, limit=50)
                for q in ("628555", "6285")
                for sort, w in (("created", Window()), ("-created", Window(last=True)))
            ]
        finally:
            event.remove(engine, "before_cursor_execute", watch)
    assert [v.e164 for v in first.items] == matching[:50]
    assert (first.total, first.total_is_exact) == (COUNT_LIMIT + 1, False)
    assert [v.e164 for v in last.items] == matching[49::-1]
    assert (exact.total, exact.total_is_exact) == (len(matching), True)
    for page in walked:
        assert (page.total, page.total_is_exact) == (COUNT_LIMIT + 1, False)
    assert [[v.e164 for v in page.items] for page in walked] == [
        matching[:50],
        matching[49::-1],
    ] * 2
    pages = [s for s in statements if "ORDER BY phone_numbers.id" in s]
    assert len(pages) == 4 and not [s for s in pages if "phone_numbers_search" in s]
    if tenant.backend.name == "postgresql":  # "6285" counted by its pieces, pages by strpos
        assert all("strpos(" in s for s in pages)
        counts = [s for s in statements if s.startswith("SELECT count(*)")]
        assert ["number_grams(" in s for s in counts] == [False, False, True, True]
    else:  # nor are the candidates counted first
        assert not [s for s in statements if "SELECT phone_numbers_search.rowid" in s]
    listed = tenant.get("/v1/numbers", params={"q": "628555", "limit": 100}).json()["data"]
    assert [n["e164"] for n in listed] == matching[:100]  # imported in order: id order


def test_without_pg_trgm_the_migration_warns_and_the_search_scans(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A PostgreSQL without the contrib package: migration 0180 still applies, search still works.

    The extension is made unavailable for real: every statement naming ``pg_trgm`` names an
    extension that does not exist instead, so the server refuses ``CREATE EXTENSION`` with the
    error it gives when contrib is not installed, inside the migration's savepoint.
    """
    schema = f"{PG_SCHEMA}_no_trgm"
    base = postgres_url.split("?")[0]
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
    url = f"{base}?options=-csearch_path%3D{schema}"
    engine = create_db_engine(url, pool_size=1)

    def without_pg_trgm(*args: Any) -> tuple[str, Any]:
        statement, parameters = args[2], args[3]
        return statement.replace("pg_trgm", "pg_trgm_not_installed"), parameters

    event.listen(engine, "before_cursor_execute", without_pg_trgm, retval=True)
    try:
        with caplog.at_level(logging.WARNING), engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        assert "pg_trgm could not be created" in caplog.text
        with engine.connect() as connection:
            indexes = connection.scalars(
                text("SELECT indexname FROM pg_indexes WHERE schemaname = :s"), {"s": schema}
            ).all()
        assert indexes and not [name for name in indexes if name.endswith("_trgm")]
        assert "ix_phone_numbers_e164_grams" in indexes  # needs no extension
        event.remove(engine, "before_cursor_execute", without_pg_trgm)
        backend = Backend("postgresql", url, Database(engine))
        with make_client(backend) as client:
            tenant = make_tenant(backend, client, "no-trgm")
            test_text_anywhere_in_the_number_or_its_label_is_found(tenant)
            _assert_pages_match_a_scan(tenant, ["5550", "628555", "0101", "555"])
    finally:
        engine.dispose()
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _assert_pages_match_a_scan(
    tenant: Tenant, terms: list[str], settings: tuple[str, ...] = ()
) -> None:
    """Every page of a search, in every sort, is the rows a plain scan finds, in its order.

    The scan reads the workspace's numbers and tests each with Python's ``in``: no index, no
    plan. The pages are walked forward from the first and backward from the last, in one
    transaction that first runs ``settings`` (a PostgreSQL planner setting).
    """
    actor = _actor(tenant)
    with tenant.backend.database.session(write=False) as session:
        for setting in settings:
            session.execute(text(setting))
        rows = session.scalars(
            select(PhoneNumber).where(PhoneNumber.workspace_id == actor.workspace_id)
        ).all()
        for term, sort in itertools.product(terms, SORTS):
            found = [
                n for n in rows if term in n.e164 or term.lower() in (n.friendly_name or "").lower()
            ]
            key = (lambda n: n.e164) if sort.endswith("number") else (lambda n: n.id)
            expected = [n.e164 for n in sorted(found, key=key, reverse=sort.startswith("-"))]
            filters = NumberFilters(q=term)
            pages, window = [], Window()
            while True:
                page = browse_numbers(session, actor, filters, sort=sort, window=window, limit=PAGE)
                pages += [v.e164 for v in page.items]
                if page.next_key is None:
                    break
                window = Window(after=page.next_key)
            assert pages == expected, (term, sort)
            assert page.total == min(len(expected), COUNT_LIMIT + 1), (term, sort)
            backwards, window = [], Window(last=True)
            while True:
                page = browse_numbers(session, actor, filters, sort=sort, window=window, limit=PAGE)
                backwards = [v.e164 for v in page.items] + backwards
                if page.previous_key is None:
                    break
                window = Window(before=page.previous_key)
            assert backwards == expected, (term, sort)
            exact = browse_numbers(
                session, actor, filters, sort=sort, window=Window(), limit=1, count_limit=None
            )
            assert (exact.total, exact.total_is_exact) == (len(expected), True)


def test_both_search_plans_find_what_a_scan_finds(
    tenant: Tenant, other_tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dense term (walked in id order) and a sparse one (read from the index) alike.

    The threshold between the plans is lowered so that a small inventory has terms on both
    sides of it; the statements are watched to check which plan each term got.
    """
    monkeypatch.setattr(search, "FEW_CANDIDATES", 20)
    dense = [f"+1628555{n:04d}" for n in range(0, 2000, 37)]  # 55 numbers
    sparse = ["+442071838750", "+442071838751", "+16502071838"]
    labelled = {"+16505550000": "Front DESK", "+16505550001": "desk 2", "+16505550002": None}
    numbers = [{"e164": e} for e in dense + sparse] + [
        {"e164": e, "friendly_name": label} for e, label in labelled.items()
    ]
    random.Random(5).shuffle(numbers)  # creation order is not number order
    assert tenant.post("/v1/numbers/batch", {"numbers": numbers}).is_success
    others = [{"e164": f"+1628555{n:04d}"} for n in range(1, 2000, 37)]
    assert other_tenant.post("/v1/numbers/batch", {"numbers": others}).is_success
    statements: list[str] = []

    def watch(*args: Any) -> None:
        statements.append(args[2])

    event.listen(tenant.backend.database.engine, "before_cursor_execute", watch)
    try:
        for term, walked in (("628555", True), ("0718", False), ("desk", False)):
            statements.clear()
            _assert_pages_match_a_scan(tenant, [term])
            pages = [s for s in statements if "ORDER BY" in s and "LIMIT" in s]
            assert pages
            if tenant.backend.name == "sqlite":  # in number order, always the candidates
                by_id = [s for s in pages if "ORDER BY phone_numbers.id" in s]
                assert by_id and len(by_id) < len(pages)
                assert all(("phone_numbers_search" not in s) == walked for s in by_id), term
                assert all("phone_numbers_search" in s for s in pages if s not in by_id)
        _assert_pages_match_a_scan(tenant, ["55", "555", "5550", "%", "+1", "+44", "628555000"])
    finally:
        event.remove(tenant.backend.database.engine, "before_cursor_execute", watch)
    if tenant.backend.name == "postgresql":  # the planner chooses: make it take each road
        _assert_pages_match_a_scan(tenant, ["628555", "0718", "desk"], WALK)
        _assert_pages_match_a_scan(tenant, ["628555", "0718", "desk"], TRIGRAMS)
        with tenant.backend.database.session(write=False) as session:
            for setting in TRIGRAMS:
                session.execute(text(setting))
            plan = session.scalars(
                text("EXPLAIN SELECT id FROM phone_numbers WHERE e164 LIKE '%628555%'")
            ).all()
        assert "ix_phone_numbers_e164_trgm" in " ".join(plan)


# PostgreSQL's two roads to a search's page: the id (or number) index walked in order, each row
# tested; or the rows the trigram indexes name, read and sorted.
WALK = (
    "SET LOCAL enable_bitmapscan = off",
    "SET LOCAL enable_seqscan = off",
    "SET LOCAL enable_sort = off",
)
TRIGRAMS = ("SET LOCAL enable_seqscan = off", "SET LOCAL enable_indexscan = off")
