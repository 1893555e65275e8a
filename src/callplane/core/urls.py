"""Which URLs callplane hands to others: public hosts only, and never with credentials.

Agents' ``webhook_url`` and ``stream_url``, a workspace's ``default_stream_url`` and a number's
SIP fallback go to the media plane, to Twilio and (issue 14) to callplane's own webhook sender.
A URL aimed at a loopback, private, link-local or otherwise non-public address would turn any
of them into a way to reach the operator's internal network (the cloud metadata service at
169.254.169.254 first of all), so such URLs are refused when they are stored, unless the
operator sets ``CALLPLANE_ALLOW_PRIVATE_URLS=true`` (local development and tests).

The check looks at the URL as written: IP literals in every spelling a resolver accepts
(``0x7f000001``, ``2130706433``, ``0177.0.0.1``, ``127.1``, ``[::1]``, ``[::ffff:127.0.0.1]``)
and the names that always mean this machine or the local network. It does not resolve DNS: a
public name can point at a private address, and can change after the check, so code that
connects to a stored URL checks the address it actually connects to with
``is_public_address``, or resolves and checks it in one step with ``resolve_public`` (the
webhook sender does, at every attempt; see docs/security.md, "Outbound URLs").
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from pydantic_core import PydanticCustomError

# Set per request from ``Settings.allow_private_urls`` by the request-context middleware;
# outside a request (CLI, workers) the strict default holds.
allow_private_urls: ContextVar[bool] = ContextVar("allow_private_urls", default=False)

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
    r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$"
)
# Names that never leave this machine or the local network (RFC 6761, RFC 6762, RFC 8375).
_LOCAL_NAMES = ("localhost", "localdomain", "local", "internal", "home.arpa", "lan")

AddressLike = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public_address(address: AddressLike) -> bool:
    """A globally routable unicast address: not loopback, private, link-local, reserved, …"""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_public_address(embedded)
    return address.is_global and not address.is_multicast


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address: AddressLike) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]


def check_url(value: str, schemes: tuple[str, ...], *, allow_private: bool | None = None) -> str:
    """``value`` unchanged when it may be stored; otherwise a validation error saying why.

    ``allow_private`` overrides the request's policy (code outside a request passes its own).
    """
    parts = urlsplit(value)
    if parts.scheme.lower() not in schemes:
        raise _refused("url_scheme", f"must be a {' or '.join(schemes)} URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _refused("url_credentials", "must not carry a user name or password")
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise _refused("url_host", f"has an invalid host or port ({exc})") from exc
    if not host:
        raise _refused("url_host", "has no host")
    check_host(host, allow_private=allow_private)
    return value


def check_sip_uri(value: str) -> str:
    """A ``sip:``/``sips:`` forward target: ``user@host[:port][;params]``, no password."""
    _, _, rest = value.partition(":")
    address = re.split(r"[;?]", rest, maxsplit=1)[0]
    user, at, hostport = address.rpartition("@")
    if not at or not user or not hostport:
        raise _refused("sip_uri", "a SIP URI must look like sip:user@host")
    if ":" in user:
        raise _refused("url_credentials", "must not carry a password")
    host = hostport if hostport.endswith("]") else hostport.rsplit(":", 1)[0]
    if not host:
        raise _refused("url_host", "has no host")
    check_host(host)
    return value


def check_host(host: str, *, allow_private: bool | None = None) -> None:
    """Refuse a host that names this machine or a private network (see the module docstring)."""
    if allow_private_urls.get() if allow_private is None else allow_private:
        return
    host = host.lower().rstrip(".")
    address = _as_address(host)
    if address is not None:
        if not is_public_address(address):
            raise _refused(
                "private_url",
                f"host {host} is a non-public address ({_kind(address)}); set "
                "CALLPLANE_ALLOW_PRIVATE_URLS=true to allow private URLs",
            )
        return
    if not _HOSTNAME.match(host) or host.split(".")[-1].isdigit():
        raise _refused("url_host", f"host {host!r} is not a valid host name (IDNs as punycode)")
    if any(host == name or host.endswith("." + name) for name in _LOCAL_NAMES):
        raise _refused(
            "private_url",
            f"host {host} names this machine or a local network; set "
            "CALLPLANE_ALLOW_PRIVATE_URLS=true to allow private URLs",
        )


class UnsafeAddress(Exception):
    """A host name that resolves to an address the URL policy refuses."""


Resolver = Callable[[str, int], Sequence[tuple[Any, ...]]]


def system_resolver(host: str, port: int) -> Sequence[tuple[Any, ...]]:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def resolve_public(
    host: str, port: int, *, allow_private: bool, resolve: Resolver = system_resolver
) -> AddressLike:
    """The address to connect to for ``host``: resolved now, and refused if any answer is private.

    A caller connects to the returned address itself (not to the name again), so the name
    cannot change between this check and the connection. Raises UnsafeAddress, or OSError when
    the name does not resolve.
    """
    literal = _as_address(host.lower().rstrip("."))
    found = (
        [literal]
        if literal is not None
        else [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in resolve(host, port)]
    )
    if not found:
        raise OSError(f"{host} has no address")
    if not allow_private:
        for address in found:
            if not is_public_address(address):
                raise UnsafeAddress(
                    f"{host} resolves to a non-public address ({_kind(address)}); set "
                    "CALLPLANE_ALLOW_PRIVATE_URLS=true to allow private URLs"
                )
    return found[0]


def _as_address(host: str) -> AddressLike | None:
    """The address a host spells, in any form a resolver would read as an IPv4 literal."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fx.]+", host) is None:
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))  # 0x7f000001, 127.1, 0177.0.0.1
    except OSError:
        return None


def _kind(address: AddressLike) -> str:
    address = _embedded_ipv4(address) or address
    for kind in ("loopback", "link_local", "private", "multicast", "unspecified", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return "not globally routable"


def _refused(code: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(code, "{message}", {"message": message})
