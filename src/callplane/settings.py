"""Configuration: one class, read from the environment once, failing fast on bad values."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from callplane.core.crypto import parse_keys
from callplane.core.limits import RequestLimits

DEFAULT_SQLITE_PATH = Path("data/callplane.db")
# Public in the source: fine on a laptop, never where keys and secrets are worth something.
DEVELOPMENT_SECRET_KEY = "callplane-development-secret-change-me"  # noqa: S105 (public by design)
DEVELOPMENT_SECRET_WARNING = (
    "CALLPLANE_SECRET_KEY is not set: API keys are hashed and secrets sealed with the public "  # noqa: S105
    "development secret. Set it to a long random value before anyone relies on this server "
    "(CALLPLANE_ENV=production refuses to start without it)."
)
_LIMITS = RequestLimits()


class Settings(BaseSettings):
    # Errors never echo the input: a mistyped key or database URL may hold a password.
    model_config = SettingsConfigDict(
        env_prefix="CALLPLANE_", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}",
        validation_alias=AliasChoices("DATABASE_URL", "CALLPLANE_DATABASE_URL"),
    )
    # production: the safeguards that development relaxes are required (see docs/security.md).
    env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # Keys are stored as HMAC-SHA256(secret_key, key); changing it invalidates every API key.
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)
    bootstrap_api_key: SecretStr | None = None
    # Fernet keys sealing secrets at rest (Twilio auth tokens), comma-separated, newest first;
    # a key derived from secret_key always opens too (see callplane.core.crypto).
    encryption_keys: SecretStr | None = None
    log_level: str = "INFO"
    # Requests per minute per API key; 0 turns the limit off. Shared through Redis when set.
    rate_limit_per_minute: int = Field(default=0, ge=0)
    # Failed authentications per client address and minute before it gets 429; 0 turns it off.
    auth_failures_per_minute: int = Field(default=20, ge=0)
    redis_url: str | None = None
    # Every Redis call gives up after this long; the limiter then counts per process a while.
    redis_timeout_seconds: float = Field(default=0.25, gt=0, le=5)
    # Request limits, checked before a request may take a database slot (core/limits.py).
    max_body_bytes: int = Field(default=_LIMITS.max_body_bytes, ge=1024)
    max_header_bytes: int = Field(default=_LIMITS.max_header_bytes, ge=1024)
    max_header_count: int = Field(default=_LIMITS.max_header_count, ge=10)
    max_json_depth: int = Field(default=_LIMITS.max_json_depth, ge=2, le=200)
    body_timeout_seconds: float = Field(default=_LIMITS.body_timeout_seconds, gt=0)
    # A connection must finish its request line and headers within this long.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    # Webhook, stream and SIP URLs may name loopback/private/link-local hosts (development).
    allow_private_urls: bool = False
    # The media WebSocket calls stream to, unless the agent or its workspace names another.
    default_stream_url: str | None = None
    # Connections (and threads) the per-call paths may hold at once, apart from the pool.
    hot_path_connections: int = Field(default=8, ge=1, le=256)
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    # Providers and the release worker (see callplane.providers).
    # The URL the outside world (Twilio) reaches this server at: voice URLs of purchased numbers
    # and webhook signature checks (which otherwise use the URL of the request).
    public_base_url: str | None = None
    # A Twilio voice request whose CallSid this workspace already saw is refused this long.
    twilio_replay_window_hours: float = Field(default=24.0, gt=0)
    twilio_api_base_url: str = "https://api.twilio.com"  # tests point it at a local server
    twilio_monthly_cost_cents: int = Field(default=115, ge=0)
    sandbox_monthly_cost_cents: int = Field(default=100, ge=0)
    sandbox_fail_releases: int = Field(default=0, ge=0)  # fail the first N releases, for demos
    release_worker: bool = True  # run the release worker inside `callplane serve`
    release_poll_seconds: float = Field(default=2.0, gt=0)
    release_backoff_seconds: float = Field(default=5.0, gt=0)
    release_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    release_max_attempts: int = Field(default=20, ge=1)
    release_lease_seconds: float = Field(default=120.0, gt=0)
    # A purchase intent still pending after this long belongs to a request that died: the
    # worker settles it with the provider (callplane.providers.recovery).
    purchase_recovery_after_seconds: float = Field(default=600.0, ge=0)
    # Outgoing webhooks (callplane.webhooks, docs/webhooks.md): the delivery worker's policy.
    webhooks_worker: bool = True  # run the delivery worker inside `callplane serve`
    webhooks_allow_http: bool = False  # endpoints may use plain http:// (development only)
    webhooks_poll_seconds: float = Field(default=1.0, gt=0)
    # One attempt: connecting, sending and reading the answer, each bounded by this.
    webhooks_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhooks_backoff_seconds: float = Field(default=30.0, gt=0)
    webhooks_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    # A delivery is retried this long after its event, then given up as failed.
    webhooks_retry_hours: float = Field(default=24.0, gt=0)
    # An endpoint whose every attempt has failed for this long is disabled.
    webhooks_disable_after_hours: float = Field(default=120.0, gt=0)
    # A claimed attempt belongs to its worker this long; a killed worker's attempt is due again
    # after it, so it must outlast an attempt (timeout_seconds) by a margin.
    webhooks_lease_seconds: float = Field(default=60.0, gt=0)

    # Test hook for bench/caller_id_reputation.py: each request may name the time the server
    # takes as now (X-Callplane-Simulated-Time, core/clock.py). Refused in production.
    simulated_clock: bool = False

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator("encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_keys(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _production_knows_its_url(self) -> Settings:
        if self.env == "production" and not self.public_base_url:
            raise ValueError(
                "CALLPLANE_ENV=production needs CALLPLANE_PUBLIC_BASE_URL: Twilio signatures "
                "are checked against that URL, never against the Host header a client sends"
            )
        if self.env == "production" and self.simulated_clock:
            raise ValueError(
                "CALLPLANE_SIMULATED_CLOCK lets a client choose the server's time; it is a "
                "simulation hook and cannot be turned on with CALLPLANE_ENV=production"
            )
        return self

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> Settings:
        if self.webhooks_lease_seconds < 2 * self.webhooks_timeout_seconds:
            raise ValueError(
                "CALLPLANE_WEBHOOKS_LEASE_SECONDS must be at least twice "
                "CALLPLANE_WEBHOOKS_TIMEOUT_SECONDS, or a slow attempt could be sent twice"
            )
        return self

    @model_validator(mode="after")
    def _production_has_its_own_secret(self) -> Settings:
        if self.env == "production" and self.uses_development_secret:
            raise ValueError(
                "CALLPLANE_ENV=production refuses the development secret: set "
                "CALLPLANE_SECRET_KEY to a long random value, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return self

    @property
    def uses_development_secret(self) -> bool:
        return self.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY

    @property
    def request_limits(self) -> RequestLimits:
        return RequestLimits(
            max_body_bytes=self.max_body_bytes,
            max_header_bytes=self.max_header_bytes,
            max_header_count=self.max_header_count,
            max_json_depth=self.max_json_depth,
            body_timeout_seconds=self.body_timeout_seconds,
        )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "sqlite+", "postgresql", "postgres:")):
            raise ValueError("DATABASE_URL must be a sqlite:/// or postgresql:// URL")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
