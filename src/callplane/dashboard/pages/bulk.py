"""Bulk actions in two steps: a confirmation stating the counts, then the change and its report.

"All N matching this filter" re-runs the list's own filter on the server. Each number is
changed inside its own savepoint of the one request transaction, so the report can say which
numbers changed and why the others were refused, each refusal leaving nothing half-done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from callplane.assignments import service as assignments
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.errors import DomainError, InvalidInput
from callplane.core.http import DbSession
from callplane.core.limits import MAX_BATCH
from callplane.dashboard.formatting import international
from callplane.dashboard.humane import explain
from callplane.dashboard.listing import parse_query
from callplane.dashboard.lookups import AgentName, Agents
from callplane.dashboard.web import DashboardRoute, Editor, render
from callplane.numbers.browse import Window, browse_numbers
from callplane.numbers.references import parse_ref
from callplane.numbers.service import delete_number

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

Action = Literal["attach", "detach", "delete"]


@dataclass(frozen=True, slots=True)
class Outcome:
    e164: str
    reason: str | None  # None: changed


def _list_url(text: str) -> str:
    """The numbers list the user came from; only that page, never another site."""
    parts = urlsplit(text)
    return "/numbers" + (f"?{parts.query}" if parts.path == "/numbers" and parts.query else "")


def _selected(
    session: Session, actor: Actor, ids: list[str], all_matching: bool, list_url: str
) -> list[str]:
    if not all_matching:
        return list(dict.fromkeys(ids))
    query = parse_query(dict(parse_qsl(urlsplit(list_url).query)))
    page = browse_numbers(
        session,
        actor,
        query.filters(),
        sort="created",
        window=Window(),
        limit=MAX_BATCH,
        count_limit=MAX_BATCH,
    )
    if page.total > MAX_BATCH:
        raise InvalidInput(
            "bulk_too_large",
            f"More than {MAX_BATCH:,} numbers match this filter, and a bulk action takes at "
            f"most {MAX_BATCH:,} at a time. Narrow the filter and repeat.",
        )
    return [v.e164 for v in page.items]


def _agent_for(agents: Agents, action: str, agent_ref: str) -> AgentName | None:
    if action == "delete":
        return None
    agent = agents.get(ids.parse("agent", agent_ref)) if agent_ref else None
    if agent is None or agent.archived:
        raise InvalidInput("choose_agent", "Choose an active agent for this action.")
    return agent


@router.post("/numbers/bulk")
def confirm(
    request: Request,
    who: Editor,
    session: DbSession,
    action: Annotated[Action, Form()],
    ids_: Annotated[list[str], Form(alias="ids")] = [],  # noqa: B006
    all_matching: Annotated[bool, Form()] = False,
    agent: Annotated[str, Form(max_length=64)] = "",
    list_url: Annotated[str, Form(max_length=4096)] = "/numbers",
) -> Response:
    back = _list_url(list_url)
    agents = Agents(session, who.actor)
    chosen = _agent_for(agents, action, agent)
    selected = _selected(session, who.actor, ids_, all_matching, back)
    if not selected:
        raise InvalidInput("nothing_selected", "Select at least one number first.")
    return render(
        request,
        "bulk/confirm.html",
        {
            "title": "Confirm bulk action",
            "section": "Numbers",
            "action": action,
            "agent": chosen,
            "numbers": selected,
            "back": back,
        },
        who=who,
    )


@router.post("/numbers/bulk/apply")
def apply(
    request: Request,
    who: Editor,
    session: DbSession,
    action: Annotated[Action, Form()],
    numbers: Annotated[str, Form(max_length=MAX_BATCH * 17)] = "",
    agent: Annotated[str, Form(max_length=64)] = "",
    list_url: Annotated[str, Form(max_length=4096)] = "/numbers",
) -> Response:
    agents = Agents(session, who.actor)
    chosen = _agent_for(agents, action, agent)
    change = _change(session, who.actor, action, chosen)
    outcomes = []
    for e164 in dict.fromkeys(numbers.split()):
        try:
            with session.begin_nested():
                change(e164)
            outcomes.append(Outcome(e164, None))
        except DomainError as exc:
            outcomes.append(Outcome(e164, explain(exc, agents.name_of, _named(e164))))
    return render(
        request,
        "bulk/result.html",
        {
            "title": "Bulk action done",
            "section": "Numbers",
            "action": action,
            "agent": chosen,
            "changed": [o for o in outcomes if o.reason is None],
            "refused": [o for o in outcomes if o.reason is not None],
            "back": _list_url(list_url),
        },
        who=who,
    )


def _named(e164: str) -> Callable[[str], str]:
    """The message's name for the number a refusal is about: the number as people write it."""
    here = international(e164)
    return lambda _ref: here


def _change(
    session: Session, actor: Actor, action: str, agent: AgentName | None
) -> Callable[[str], object]:
    """What to do to one number, by the same service calls the API makes."""
    if action == "delete":
        return lambda e164: delete_number(session, actor, e164)
    assert agent is not None
    if action == "detach":
        return lambda e164: assignments.detach(session, actor, agent.ref, e164)
    if agent.type == "inbound":
        return lambda e164: assignments.assign(session, actor, e164, agent.ref, "inbound")
    return lambda e164: assignments.attach_outbound(
        session, actor, agent.ref, [parse_ref(e164, "number")]
    )
