"""``callplane re-encrypt-secrets``: seal every stored secret under the newest encryption key."""

from __future__ import annotations

import typer
from rich.console import Console

from callplane.core import crypto
from callplane.core.db import Database, create_db_engine
from callplane.models import Base
from callplane.settings import get_settings


def reencrypt_secrets() -> None:
    """Re-seal every stored secret under the first key of CALLPLANE_ENCRYPTION_KEYS.

    Run it after putting a new key in front; once it succeeds the older keys can be dropped.
    """
    console = Console()
    settings = get_settings()
    keyring = crypto.Keyring.of(settings)
    database = Database(create_db_engine(settings.database_url, pool_size=1))
    try:
        with database.transaction() as session:
            count = crypto.reseal_all(session, Base.metadata, keyring)
    except crypto.SecretUnreadable as exc:
        console.print(f"[red]error[/red] {exc}; nothing was changed (is an old key missing?)")
        raise typer.Exit(code=1) from exc
    finally:
        database.engine.dispose()
    console.print(f"{count} secret(s) sealed under the newest key")
