"""Configuration: one class, read from the environment once, failing fast on bad values."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from callplane.core.crypto import parse_keys

DEFAULT_SQLITE_PATH = Path("data/callplane.db")


class Settings(BaseSettings):
    # Errors never echo the input: a mistyped key or database URL may hold a password.
    model_config = SettingsConfigDict(
        env_prefix="CALLPLANE_", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}",
        validation_alias=AliasChoices("DATABASE_URL", "CALLPLANE_DATABASE_URL"),
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # Keys are stored as HMAC-SHA256(secret_key, key); changing it invalidates every API key.
    secret_key: SecretStr = SecretStr("callplane-development-secret-change-me")
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

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "sqlite+", "postgresql", "postgres:")):
            raise ValueError("DATABASE_URL must be a sqlite:/// or postgresql:// URL")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
