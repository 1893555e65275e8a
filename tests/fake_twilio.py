"""A local HTTP server that answers like Twilio's REST API (2010-04-01), for the real SDK.

The bodies follow the shapes Twilio documents and returns for AvailablePhoneNumbers and
IncomingPhoneNumbers, errors included (``{"code", "message", "more_info", "status"}``). Tests
can make the next requests fail (``fail(method, times, status, code)``) and read every request
it received (``requests``).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-token-not-secret"
DATE = "Mon, 23 Nov 2026 11:00:00 +0000"
BASE = "/2010-04-01/Accounts/{sid}"

MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21422: "PhoneNumber is not available",
}


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    status: int


@dataclass
class FakeTwilio:
    """The state of the fake account: numbers for sale, numbers owned, scheduled failures."""

    url: str = ""
    for_sale: list[str] = field(default_factory=list)
    owned: dict[str, dict[str, Any]] = field(default_factory=dict)  # sid -> resource
    requests: list[Seen] = field(default_factory=list)
    failures: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delete_delay: float = 0.0  # seconds a DELETE takes, to kill a client in the middle of one
    deletes_received: int = 0  # counted on arrival, before the delay
    purchase_delay: float = 0.0  # the same for a purchase (POST IncomingPhoneNumbers.json)
    purchases_received: int = 0

    def fail(self, method: str, times: int = 1, status: int = 500, code: int = 20500) -> None:
        self.failures.setdefault(method, []).extend([(status, code)] * times)

    def own(self, e164: str, friendly_name: str | None = None) -> str:
        sid = "PN" + uuid.uuid4().hex
        self.owned[sid] = _incoming(sid, e164, friendly_name or e164, None)
        return sid

    def seen(self, method: str, pattern: str = "", status: int | None = None) -> list[Seen]:
        return [
            r
            for r in self.requests
            if r.method == method
            and re.search(pattern, r.path)
            and (status is None or r.status == status)
        ]


def _incoming(sid: str, e164: str, friendly_name: str, voice_url: str | None) -> dict[str, Any]:
    return {
        "account_sid": ACCOUNT_SID,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": "2010-04-01",
        "beta": False,
        "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
        "date_created": DATE,
        "date_updated": DATE,
        "emergency_status": "Inactive",
        "friendly_name": friendly_name,
        "identity_sid": None,
        "origin": "twilio",
        "phone_number": e164,
        "sid": sid,
        "sms_method": "POST",
        "sms_url": "",
        "status": "in-use",
        "status_callback": "",
        "status_callback_method": "POST",
        "trunk_sid": None,
        "uri": f"{BASE.format(sid=ACCOUNT_SID)}/IncomingPhoneNumbers/{sid}.json",
        "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST",
        "voice_fallback_url": None,
        "voice_method": "POST",
        "voice_url": voice_url,
        "bundle_sid": None,
    }


def _available(e164: str) -> dict[str, Any]:
    return {
        "friendly_name": f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}",
        "phone_number": e164,
        "lata": "722",
        "locality": "San Francisco",
        "rate_center": "SNFCCA01",
        "latitude": "37.780000",
        "longitude": "-122.420000",
        "region": "CA",
        "postal_code": "94103",
        "iso_country": "US",
        "address_requirements": "none",
        "beta": False,
        "capabilities": {"voice": True, "SMS": True, "MMS": True},
    }


def _handler(state: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if method == "DELETE":
                state.deletes_received += 1
                time.sleep(state.delete_delay)
            if method == "POST" and parts.path.endswith("/IncomingPhoneNumbers.json"):
                state.purchases_received += 1
                time.sleep(state.purchase_delay)
            with state.lock:
                status, body = self._route(method, parts.path, query, form)
                state.requests.append(Seen(method, parts.path, query, form, status))
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _route(
            self, method: str, path: str, query: dict[str, str], form: dict[str, str]
        ) -> tuple[int, Any]:
            expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                return _error(401, 20003, path)
            if state.failures.get(method):
                status, code = state.failures[method].pop(0)
                return _error(status, code, path)
            account = BASE.format(sid=ACCOUNT_SID)
            if method == "GET" and re.fullmatch(
                account + r"/AvailablePhoneNumbers/\w\w/Local\.json", path
            ):
                found = [
                    e
                    for e in state.for_sale
                    if (not query.get("AreaCode") or e[2:5] == query["AreaCode"])
                    and query.get("Contains", "") in e
                ][: int(query.get("PageSize", 50))]
                return 200, {
                    "available_phone_numbers": [_available(e) for e in found],
                    "end": len(found) - 1,
                    "first_page_uri": path,
                    "next_page_uri": None,
                    "page": 0,
                    "page_size": 50,
                    "previous_page_uri": None,
                    "start": 0,
                    "uri": path + "?" + urlsplit(self.path).query,
                }
            if path == account + "/IncomingPhoneNumbers.json":
                if method == "POST":
                    e164 = form.get("PhoneNumber", "")
                    if e164 not in state.for_sale:
                        return _error(400, 21422, path)
                    state.for_sale.remove(e164)
                    sid = "PN" + uuid.uuid4().hex
                    state.owned[sid] = _incoming(sid, e164, e164, form.get("VoiceUrl"))
                    return 201, state.owned[sid]
                records = [
                    r
                    for r in state.owned.values()
                    if not query.get("PhoneNumber") or r["phone_number"] == query["PhoneNumber"]
                ]
                return 200, {
                    "incoming_phone_numbers": records,
                    "end": len(records) - 1,
                    "first_page_uri": path + "?PageSize=50&Page=0",
                    "next_page_uri": None,
                    "page": 0,
                    "page_size": 50,
                    "previous_page_uri": None,
                    "start": 0,
                    "uri": path,
                }
            if m := re.fullmatch(account + r"/IncomingPhoneNumbers/(PN\w+)\.json", path):
                record = state.owned.get(m.group(1))
                if record is None:
                    return _error(404, 20404, path)
                if method == "DELETE":
                    del state.owned[m.group(1)]
                    return 204, None
                if method == "POST":
                    for key, name in (("VoiceUrl", "voice_url"), ("VoiceMethod", "voice_method")):
                        if key in form:
                            record[name] = form[key]
                return 200, record
            return _error(404, 20404, path)

    return Handler


def _error(status: int, code: int, path: str) -> tuple[int, dict[str, Any]]:
    return status, {
        "code": code,
        "message": MESSAGES.get(code, "Error").format(path=path),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@contextmanager
def fake_twilio() -> Iterator[FakeTwilio]:
    state = FakeTwilio()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
