"""The one place a query is scoped to a workspace; services start every tenant query here."""

from __future__ import annotations

import uuid
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, Uuid, bindparam, select
from sqlalchemy.orm import Mapped


class TenantModel(Protocol):
    workspace_id: Mapped[uuid.UUID]


M = TypeVar("M", bound=Any)


def scoped(model: type[M], workspace_id: uuid.UUID) -> Select[M]:
    return select(model).where(model.workspace_id == workspace_id)


def scoped_once(model: type[M]) -> Select[M]:
    """``scoped`` for a statement built once, at import, and run with the workspace as the
    ``workspace_id`` parameter: on the write paths, building a query on each call cost more
    Python than running it (docs/benchmarks.md, writes)."""
    return select(model).where(model.workspace_id == bindparam("workspace_id", type_=Uuid()))
