"""Which provider serves a request: built per use from settings and the workspace's credentials."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy.orm import Session

from callplane.core import ids
from callplane.core.errors import not_found
from callplane.providers.base import PROVIDER_NAMES, Provider, not_configured, unknown_provider
from callplane.providers.sandbox import SandboxProvider
from callplane.providers.twilio import TwilioProvider
from callplane.settings import Settings
from callplane.workspaces.models import Workspace


class Providers:
    """One per process: settings, and the sandbox's simulated-outage counter."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._failures_left = settings.sandbox_fail_releases
        self._lock = threading.Lock()

    def get(self, name: str, session: Session, workspace_id: uuid.UUID) -> Provider:
        if name == "sandbox":
            return SandboxProvider(
                session,
                workspace_id,
                self.settings.sandbox_monthly_cost_cents,
                fail_release=self._simulated_failure,
            )
        if name == "twilio":
            workspace = session.get(Workspace, workspace_id)
            if workspace is None:
                raise not_found("workspace", ids.render("workspace", workspace_id))
            if not workspace.twilio_account_sid:
                raise not_configured("twilio", "twilio_account_sid")
            if not workspace.twilio_auth_token:
                raise not_configured("twilio", "twilio_auth_token")
            return TwilioProvider(
                workspace.twilio_account_sid,
                workspace.twilio_auth_token,
                api_base_url=self.settings.twilio_api_base_url,
            )
        raise unknown_provider(name)

    @staticmethod
    def default_name(session: Session, workspace_id: uuid.UUID) -> str:
        """The provider of clients that name none (the vendor APIs): Twilio once the workspace
        has its credentials, the sandbox before."""
        workspace = session.get(Workspace, workspace_id)
        if workspace and workspace.twilio_account_sid and workspace.twilio_auth_token:
            return "twilio"
        return "sandbox"

    @staticmethod
    def check_name(name: str) -> str:
        if name not in PROVIDER_NAMES:
            raise unknown_provider(name)
        return name

    @staticmethod
    def embedded(name: str) -> bool:
        """Whether the provider keeps its books in callplane's own database (the sandbox)."""
        return name == "sandbox"

    def monthly_cost_cents(self, name: str) -> int:
        if name == "sandbox":
            return self.settings.sandbox_monthly_cost_cents
        return self.settings.twilio_monthly_cost_cents

    def voice_url(self, workspace_id: uuid.UUID) -> str:
        """Where the provider sends a call to one of this workspace's numbers."""
        base = self.settings.public_base_url or (
            f"http://{self.settings.host}:{self.settings.port}"
        )
        workspace = ids.render("workspace", workspace_id)
        return f"{base.rstrip('/')}/v1/telephony/twilio/{workspace}/voice"

    def _simulated_failure(self) -> bool:
        with self._lock:
            if self._failures_left <= 0:
                return False
            self._failures_left -= 1
            return True
