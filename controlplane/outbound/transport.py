"""An httpx transport that connects only where the outbound policy allows, to the address it checked
(`agent/outbound.py`'s PinnedTransport), refusing with the control plane's OUTBOUND_TARGET_FORBIDDEN."""

from __future__ import annotations

import httpx

from agent import outbound
from controlplane.outbound.policy import refused


class PinnedTransport(outbound.PinnedTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except outbound.OutboundForbidden as error:
            raise refused(error) from None
