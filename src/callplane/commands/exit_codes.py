"""The exit codes of ``callplane``: one meaning each, documented in docs/cli.md."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # the server (or the database) refused the request: not found, conflict, …
    USAGE = 2  # bad arguments or options, or no API key to send (Click's own code for usage)
    ROWS_REJECTED = 3  # an import finished, but some rows were rejected (listed)
    UNREACHABLE = 4  # no answer from the server: not running, wrong URL, timeout
    DATABASE = 5  # the database cannot be opened, or is not migrated (run `callplane migrate`)
