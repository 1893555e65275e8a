from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from callplane.core import ids
from callplane.core.crypto import hint
from callplane.core.schemas import Input, Name, StreamUrl, iso
from callplane.workspaces.models import Workspace

# Tokens go into HTTP Basic auth headers: printable ASCII only.
Secret = Annotated[str, StringConstraints(min_length=8, max_length=128, pattern=r"^[\x21-\x7e]+$")]


class WorkspaceUpdate(Input):
    """Telephony settings; ``twilio_auth_token`` is write-only and never shown again."""

    name: Name | None = None
    twilio_account_sid: Annotated[str, StringConstraints(pattern=r"^AC[0-9a-fA-F]{32}$")] | None = (
        None
    )
    twilio_auth_token: Secret | None = None
    default_stream_url: StreamUrl | None = None

    @model_validator(mode="after")
    def _name_stays_set(self) -> WorkspaceUpdate:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set)


class WorkspaceOut(BaseModel):
    id: str
    name: str
    twilio_account_sid: str | None
    twilio_auth_token_set: bool
    twilio_auth_token_hint: str | None = Field(
        description="The token's last four characters, masked; the token itself is write-only."
    )
    default_stream_url: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, w: Workspace) -> WorkspaceOut:
        return cls(
            id=ids.render("workspace", w.id),
            name=w.name,
            twilio_account_sid=w.twilio_account_sid,
            twilio_auth_token_set=bool(w.twilio_auth_token),
            twilio_auth_token_hint=hint(w.twilio_auth_token),
            default_stream_url=w.default_stream_url,
            created_at=iso(w.created_at) or "",
            updated_at=iso(w.updated_at) or "",
        )
