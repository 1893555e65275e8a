"""The one place a query is scoped to a workspace; services start every tenant query here."""

from __future__ import annotations

import uuid
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Mapped


class TenantModel(Protocol):
    workspace_id: Mapped[uuid.UUID]


M = TypeVar("M", bound=Any)


def scoped(model: type[M], workspace_id: uuid.UUID) -> Select[M]:
    return select(model).where(model.workspace_id == workspace_id)
