"""ETags and conditional requests (RFC 9110, section 13): ``If-Match`` and ``If-None-Match``.

An ETag names one version of one resource: ``"<resource id in hex>-<version>"``, strong. It
validates the resource in ``data``; the envelope's ``meta`` (request id, time of the answer)
is about the answer, not the resource, and differs on every answer whatever the ETag.

Routers read the headers (:data:`Preconditions` on changes, :data:`IfNoneMatch` on reads);
services evaluate them with :meth:`Preconditions.check` under the row lock they take anyway, so
the comparison and the change it guards are one step for any other server.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Response

from callplane.core.errors import DomainError, PreconditionFailed

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text (RFC 9110 8.8.3)
_TAG = r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"'
_LIST_ITEM = re.compile(r"[ \t]*(?:" + _TAG + r")?[ \t]*")


def entity_tag(resource_id: uuid.UUID, version: int) -> str:
    return f'"{resource_id.hex}-{version}"'


@dataclass(frozen=True, slots=True)
class EntityTag:
    opaque: str  # between the quotes
    weak: bool

    @classmethod
    def of(cls, etag: str) -> EntityTag:
        return cls(etag.removeprefix("W/").strip('"'), etag.startswith("W/"))


@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed ``If-Match`` or ``If-None-Match`` field: ``*``, or a list of entity tags."""

    header: str
    any: bool
    tags: tuple[EntityTag, ...]

    def matches_strongly(self, etag: str) -> bool:
        """If-Match's comparison: a weak tag on either side matches nothing."""
        current = EntityTag.of(etag)
        return self.any or any(
            not t.weak and not current.weak and t.opaque == current.opaque for t in self.tags
        )

    def matches_weakly(self, etag: str) -> bool:
        """If-None-Match's comparison: the opaque parts are compared, ``W/`` or not."""
        current = EntityTag.of(etag)
        return self.any or any(t.opaque == current.opaque for t in self.tags)


def parse(header: str, value: str | None) -> Condition | None:
    """The field's condition, or None when it is absent; a malformed field is refused (400)."""
    if value is None:
        return None
    if value.strip() == "*":
        return Condition(header, True, ())
    tags: list[EntityTag] = []
    for item in value.split(","):
        found = _LIST_ITEM.fullmatch(item)
        if found is None:
            raise _malformed(header, value)
        if found.group(2) is not None:  # an empty list element is allowed, and skipped
            tags.append(EntityTag(found.group(2), found.group(1) is not None))
    if not tags:
        raise _malformed(header, value)
    return Condition(header, False, tuple(tags))


@dataclass(frozen=True, slots=True)
class Preconditions:
    """The preconditions of a change (PATCH, PUT, DELETE); none by default."""

    if_match: Condition | None = None
    if_none_match: Condition | None = None

    def check(self, etag: str) -> None:
        """Refuse the change (412) unless the resource, at ``etag`` now, meets them.

        RFC 9110 13.2.2: If-Match first, then If-None-Match (which on a change also means 412).
        """
        if self.if_match is not None and not self.if_match.matches_strongly(etag):
            raise _failed("If-Match", etag, "the resource changed since that ETag was read")
        if self.if_none_match is not None and self.if_none_match.matches_weakly(etag):
            raise _failed("If-None-Match", etag, "the resource is at a version it names")


NO_PRECONDITIONS = Preconditions()
# The 304 of a conditional read, for the OpenAPI document.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not Modified: the resource is still at the ETag the client sent."}
}


class NotModified(Exception):
    """A conditional read whose resource is still the one the client holds: 304, no body."""

    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


async def _preconditions(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="Change only if the resource is still at one of these ETags (or `*`); "
            "412 `precondition_failed` otherwise.",
        ),
    ] = None,
    if_none_match: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            description="Change only if the resource is at none of these ETags (`*`: any).",
        ),
    ] = None,
) -> Preconditions:
    return Preconditions(parse("If-Match", if_match), parse("If-None-Match", if_none_match))


async def _if_none_match(
    if_none_match: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            description="ETags the client holds: 304 Not Modified, without a body, when the "
            "resource is still at one of them.",
        ),
    ] = None,
) -> Condition | None:
    return parse("If-None-Match", if_none_match)


PreconditionHeaders = Annotated[Preconditions, Depends(_preconditions)]
IfNoneMatch = Annotated[Condition | None, Depends(_if_none_match)]


def tag(response: Response, etag: str, if_none_match: Condition | None = None) -> None:
    """Send ``etag`` with the answer; a read the client already holds ends in 304."""
    if if_none_match is not None and if_none_match.matches_weakly(etag):
        raise NotModified(etag)
    response.headers["ETag"] = etag


def _failed(header: str, etag: str, reason: str) -> PreconditionFailed:
    return PreconditionFailed(
        "precondition_failed",
        f"{header}: {reason}; nothing was changed. The current ETag is {etag}",
        {"header": header, "etag": etag},
    )


def _malformed(header: str, value: str) -> DomainError:
    return DomainError(
        "invalid_precondition_header",
        f'{header}: not "*" or a list of quoted entity tags such as "abc", W/"abc"',
        {"header": header, "value": value[:200]},
    )
