"""Synthflow's opaque ``model_id`` for callplane agents, derived both ways from the agent's UUID.

Synthflow ids look like ``1726559381711x108708587477942990`` (creation milliseconds, ``x``,
digits). A callplane agent id is a UUIDv7 whose top 48 bits are its creation milliseconds, so
``<top 48 bits>x<low 80 bits>`` is a Synthflow-looking id that maps back to the agent with no
table, for agents created through any surface. Native ids (``agt_<uuid>``, a bare UUID) are
accepted as model ids too, so clients that already use them keep working.
"""

from __future__ import annotations

import re
import uuid

from callplane.core import ids

_LOW_BITS = 80
_SYNTHFLOW_ID = re.compile(r"^(\d{1,15})x(\d{1,25})$")


def model_id(agent_id: uuid.UUID) -> str:
    value = agent_id.int
    return f"{value >> _LOW_BITS}x{value & ((1 << _LOW_BITS) - 1)}"


def agent_ref(text: str) -> str:
    """The callplane agent reference behind a model id; other text passes through unchanged
    (a native id is resolved by the services, anything else is a 404 there)."""
    match = _SYNTHFLOW_ID.match(text)
    if match is None:
        return text
    high, low = int(match.group(1)), int(match.group(2))
    if high >= 1 << 48 or low >= 1 << _LOW_BITS:
        return text
    return ids.render("agent", uuid.UUID(int=high << _LOW_BITS | low))
