"""An httpx transport that connects only where the outbound policy allows, to the address it checked.

Each request's host is resolved once and every address checked (``policy.resolve``); the request then goes to
one of those addresses with the URL's host kept in the ``Host`` header and, for https, as the TLS server name
(SNI and certificate check), so there is no second lookup an attacker's DNS could answer differently.
"""

from __future__ import annotations

import ssl

import httpx

from controlplane.outbound.policy import OutboundPolicy


class PinnedTransport(httpx.BaseTransport):
    def __init__(self, policy: OutboundPolicy, *, verify: ssl.SSLContext | str | bool = True) -> None:
        self.policy = policy
        self._inner = httpx.HTTPTransport(verify=verify)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            addresses = self.policy.resolve(host, port)
        except OSError as error:  # the name does not resolve: nothing was sent, like a refused connection
            raise httpx.ConnectError(f"cannot resolve {host!r}: {error.strerror or error}", request=request) from None
        if request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        last: httpx.ConnectError | None = None
        for address in addresses:
            request.url = request.url.copy_with(host=address)  # the Host header already names the host
            try:
                return self._inner.handle_request(request)
            except httpx.ConnectError as error:  # nothing was sent: the next address is safe, even for a submit
                last = error
        assert last is not None
        raise last

    def close(self) -> None:
        self._inner.close()
