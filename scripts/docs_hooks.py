"""MkDocs hooks: the reference pages (API, CLI, error codes) made from the code at build time.

Named in mkdocs.yml; the pages exist only in the built site, never in the repository, so a new
route, command or error code is documented by the next ``mkdocs build`` without a hand edit.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

import typer
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.docs_reference import api_page, cli_page, error_page, scan_error_codes


def reference_pages() -> dict[str, str]:
    """Each generated page by its path in the site's docs."""
    from callplane.app import create_app
    from callplane.cli import app as cli
    from callplane.settings import Settings

    # A throwaway database file and secret: the app is built only for its document.
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=f"sqlite:///{folder}/docs.db",
            secret_key=secrets.token_urlsafe(32),  # type: ignore[arg-type]
            release_worker=False,
        )
        document: dict[str, Any] = create_app(settings).openapi()
    return {
        "reference/api.md": api_page(document),
        "reference/cli.md": cli_page(typer.main.get_command(cli)),
        "reference/errors.md": error_page(scan_error_codes()),
    }


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for uri, content in reference_pages().items():
        files.append(File.generated(config, uri, content=content))
    return files
