from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from callplane.core.db import Base, JSONType, Timestamped, uuid_pk
from callplane.core.versioning import Versioned

NUMBER_STATUSES = ("active", "suspended")
NUMBER_SOURCES = ("imported", "purchased")
NUMBER_TYPES = ("local", "mobile", "toll_free", "other")


class PhoneNumber(Versioned, Timestamped, Base):
    __tablename__ = "phone_numbers"
    __table_args__ = (
        UniqueConstraint("workspace_id", "id", name="uq_phone_numbers_workspace_id_id"),
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
        CheckConstraint("source IN ('imported', 'purchased')", name="source"),
        CheckConstraint("monthly_cost_cents >= 0", name="monthly_cost_cents"),
        CheckConstraint("fallback_action IN ('reject', 'forward')", name="fallback_action"),
        CheckConstraint(
            "health_state IN ('healthy', 'watch', 'benched', 'paused', 'warming')",
            name="health_state",
        ),
        CheckConstraint(
            "verified_by IN ('provider', 'operator') AND verified_at IS NOT NULL"
            " OR verified_by IS NULL AND verified_at IS NULL",
            name="verified",
        ),
        # The dashboard's country filter: one index range, already in id order, at any size.
        Index(
            "ix_phone_numbers_workspace_id_country_code_id", "workspace_id", "country_code", "id"
        ),
        # The health changes that fall due (reputation.service.apply_due_changes): only the
        # benched and the warming numbers, not a scan of the inventory every minute.
        Index(
            "ix_phone_numbers_benched_until",
            "benched_until",
            sqlite_where=text("health_state = 'benched'"),
            postgresql_where=text("health_state = 'benched'"),
        ),
        Index(
            "ix_phone_numbers_warming_since",
            "warming_since",
            sqlite_where=text("health_state = 'warming'"),
            postgresql_where=text("health_state = 'warming'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # One active E.164 in the whole installation: a line cannot belong to two customers.
    e164: Mapped[str] = mapped_column(String(16), unique=True)
    friendly_name: Mapped[str | None] = mapped_column(String(200))
    country_code: Mapped[str | None] = mapped_column(String(2))
    number_type: Mapped[str] = mapped_column(String(16))
    valid: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16), default="active")
    source: Mapped[str] = mapped_column(String(16), default="imported")
    provider: Mapped[str | None] = mapped_column(String(64))
    # The provider's own id of the number (a Twilio PN… sid), needed to release it.
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    monthly_cost_cents: Mapped[int] = mapped_column(default=0)
    purchased_at: Mapped[dt.datetime | None]
    # Proof of ownership (see callplane.numbers.ownership): set when a provider shows the number
    # in the workspace's own account (a purchase, a provider import) or an operator vouches for
    # it. Until then the number is not used as caller ID and a proven claim displaces it.
    verified_by: Mapped[str | None] = mapped_column(String(16))
    verified_at: Mapped[dt.datetime | None]
    # Inbound routing when no agent can answer: forward to an E.164 or SIP URI, or reject.
    fallback_action: Mapped[str] = mapped_column(
        String(16), default="reject", server_default="reject"
    )
    fallback_destination: Mapped[str | None] = mapped_column(String(255))
    allowed_inbound_countries: Mapped[list[str] | None] = mapped_column(JSONType)
    # Outbound caller-ID caps over sliding windows; None means no cap.
    max_calls_per_hour: Mapped[int | None]
    max_calls_per_day: Mapped[int | None]
    # Outbound usage, kept on the row a caller-ID selection locks so that caps are exact under
    # concurrency (see routing/selection.py): selections in the sliding last hour and day, the
    # window edges those counts were last brought up to, and until when the number is at a cap.
    last_selected_at: Mapped[dt.datetime | None]
    calls_hour: Mapped[int] = mapped_column(default=0, server_default="0")
    calls_day: Mapped[int] = mapped_column(default=0, server_default="0")
    hour_edge: Mapped[dt.datetime | None]
    day_edge: Mapped[dt.datetime | None]
    capped_until: Mapped[dt.datetime | None]
    # Caller-ID health (callplane.reputation): the state the selector obeys, why and since when,
    # until when a benched number rests, the answer rate last judged (to pick the least bad),
    # from when outcomes count (a fresh start after a bench), and when warming began.
    health_state: Mapped[str] = mapped_column(
        String(16), default="healthy", server_default="healthy"
    )
    health_reason: Mapped[str | None] = mapped_column(String(64))
    health_changed_at: Mapped[dt.datetime | None]
    benched_until: Mapped[dt.datetime | None]
    health_answer_rate: Mapped[float | None]
    judged_from: Mapped[dt.datetime | None]
    warming_since: Mapped[dt.datetime | None]
    # How a bring-your-own SIP trunk reaches the number (termination URI, auth user, proxy):
    # kept for the clients that manage it, never a password.
    sip_settings: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class NumberCount(Base):
    """How many numbers a workspace has in one (country, status): the numbers list's totals.

    Kept by database triggers (migrations 0180, 0195) in the very transaction that inserts,
    deletes or moves a number, whatever code path does it, so the total is exact without
    counting a million rows. ``country_code`` is '' for numbers without a country.

    A count is the sum of its ``shard`` rows: on PostgreSQL each connection adds to its own
    shard, so that concurrent creates and deletes do not queue on one row's lock until COMMIT
    (a shard alone may be negative). SQLite, one writer at a time, keeps shard 0 only.
    """

    __tablename__ = "number_counts"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    country_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")
    total: Mapped[int]


# Made by migrations 0180 and 0200 and by nothing in the models: the substring search over
# numbers (an FTS5 table and its shadow tables on SQLite; on PostgreSQL pg_trgm indexes, which
# may be missing when the extension is, and the index of number_grams). Comparisons of the
# models with the database skip them.
SEARCH_OBJECTS = frozenset(
    {
        "phone_numbers_search",
        "phone_numbers_search_config",
        "phone_numbers_search_data",
        "phone_numbers_search_docsize",
        "phone_numbers_search_idx",
        "ix_phone_numbers_e164_trgm",
        "ix_phone_numbers_friendly_name_trgm",
        "ix_phone_numbers_e164_grams",
    }
)
