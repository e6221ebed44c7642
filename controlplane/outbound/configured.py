"""The outbound policy the settings describe (CONTROLPLANE_OUTBOUND_DENY_CIDRS / _ALLOW_CIDRS)."""

from __future__ import annotations

from django.conf import settings

from controlplane.outbound.policy import OutboundPolicy


def configured_policy() -> OutboundPolicy:
    # Built per client from the settings (cheap), so a test's override_settings takes effect at once.
    return OutboundPolicy.from_cidrs(
        deny=settings.CONTROLPLANE_OUTBOUND_DENY_CIDRS, allow=settings.CONTROLPLANE_OUTBOUND_ALLOW_CIDRS
    )
