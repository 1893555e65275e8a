"""The server holds to its OpenAPI document: schemathesis, all checks, a bounded run per database.

Twilio calls go to the local fake; a fixed seed keeps the run reproducible. For a deeper run
set ``CALLPLANE_TEST_FUZZ_EXAMPLES`` (e.g. 100) and another ``CALLPLANE_TEST_FUZZ_SEED``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fake_twilio import fake_twilio
from tests.helpers import Tenant
from tests.live_server import live_server

CONFIG = Path(__file__).parent / "schemathesis" / "schemathesis.toml"
MAX_EXAMPLES = os.environ.get("CALLPLANE_TEST_FUZZ_EXAMPLES", "10")
SEED = os.environ.get("CALLPLANE_TEST_FUZZ_SEED", "20261127")


def test_every_operation_holds_to_the_document(tenant: Tenant, tmp_path: Path) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    with (
        fake_twilio() as twilio,
        live_server(
            tenant.backend.url,
            tmp_path / "server.log",
            {
                "CALLPLANE_TWILIO_API_BASE_URL": twilio.url,
                # schemathesis sends bad keys on purpose, far more than 20 a minute; the
                # failed-authentication guard has its own tests (test_api_keys.py)
                "CALLPLANE_AUTH_FAILURES_PER_MINUTE": "0",
            },
        ) as base_url,
    ):
        run = subprocess.run(
            [
                str(schemathesis),
                "--config-file",
                str(CONFIG),
                "run",
                f"{base_url}/openapi.json",  # every check: see the configuration file
                "--header",
                f"Authorization: Bearer {tenant.key}",
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
                "--workers",
                "1",
                "--no-color",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            cwd=tmp_path,  # schemathesis keeps a cache in its working directory
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-2000:]
