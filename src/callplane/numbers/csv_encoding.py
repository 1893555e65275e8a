"""Reading a CSV file people exported from anywhere: the encoding is found, never assumed.

Files with a byte-order mark say what they are (UTF-8, UTF-16 LE/BE). Without one, UTF-8 is
tried first and Latin-1 is the fallback (every byte is a Latin-1 character, which is what Excel
on Windows writes for Western European text). A NUL byte without a UTF-16 mark means UTF-16 or
a binary file that cannot be told apart from text: the file is refused, naming the line.
"""

from __future__ import annotations

import codecs
from pathlib import Path

_MARKS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class UnreadableCsv(Exception):
    """The file cannot be read as CSV text; the message names the line and what to do."""


def read_text(path: Path) -> tuple[str, str]:
    """The file's text and the encoding it was read with."""
    data = path.read_bytes()
    for mark, encoding in _MARKS:
        if data.startswith(mark):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise UnreadableCsv(
                    f"line {_line_at(data, exc.start)}: not valid {encoding} text "
                    "although the file starts with its byte-order mark"
                ) from exc
    nul = data.find(b"\x00")
    if nul >= 0:
        raise UnreadableCsv(
            f"line {_line_at(data, nul)}: a NUL byte; save the file as UTF-8 "
            "(or UTF-16 with a byte-order mark)"
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
