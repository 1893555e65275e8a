"""CSV that is safe to open in a spreadsheet: no cell a spreadsheet would run as a formula.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with ``=``, ``+``, ``-`` or
``@`` (and some strip a leading tab or carriage return first), so ``=cmd|' /C calc'!A0`` in a
friendly name or a rejected row would run when an operator opens the export. Such cells get a
leading apostrophe, which spreadsheets show as text. Plain signed numbers and phone numbers
(``+14155550100``, ``-3``, ``+1 (415) 555-0100``) are left alone: they are data, not formulas.
Every CSV callplane writes goes through ``write_rows``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from typing import IO

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_SIGNED_NUMBER = re.compile(r"^[+-][0-9 ().-]*$")


def safe_cell(value: object) -> str:
    """The cell as text, with a leading apostrophe when a spreadsheet would evaluate it."""
    text = "" if value is None else str(value)
    if text.startswith(_TRIGGERS) and not _SIGNED_NUMBER.match(text):
        return "'" + text
    return text


def write_rows(handle: IO[str], header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    writer = csv.writer(handle)
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
