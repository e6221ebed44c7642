"""Which addresses the control plane may connect to (docs/SECURITY.md, "Outbound connections and rate limits").

The rules are the project's one outbound policy, `agent/outbound.py` (shared with the node agent, which never
imports the control plane); here a refusal becomes the DomainError every caller of a cluster handles.
"""

from __future__ import annotations

from agent.outbound import OutboundForbidden, OutboundPolicy
from controlplane.errors import DomainError

__all__ = ["OutboundPolicy", "OutboundTargetForbidden", "refused"]


class OutboundTargetForbidden(DomainError):
    """A connection the policy refuses; ``details.rule`` names the rule. Nothing was sent."""

    code = "OUTBOUND_TARGET_FORBIDDEN"


def refused(error: OutboundForbidden) -> OutboundTargetForbidden:
    return OutboundTargetForbidden(str(error), host=error.host, rule=error.rule)
