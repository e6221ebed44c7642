"""Where the agent may connect when an action names a URL (`health.check`), and a transport that keeps to it.

The agent's own copy of the control plane's rules (it never imports controlplane), with the same defaults:
cloud metadata, link-local, unspecified, multicast and broadcast addresses are never reached; loopback and
private ranges are; `[outbound] deny_cidrs` adds denials and `[outbound] allow_cidrs`, when set, is the only
place left (docs/AGENT.md). A host is resolved once, every address it resolves to must pass, and the request
goes to a checked address with the host kept in the Host header and as the TLS server name, so a DNS answer
that changes between the check and the connection cannot move it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

FORBIDDEN = "OUTBOUND_TARGET_FORBIDDEN"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

FIXED_DENIED: tuple[tuple[str, Network], ...] = tuple(
    (rule, ipaddress.ip_network(cidr))
    for rule, cidr in (
        ("cloud-metadata", "169.254.169.254/32"),
        ("cloud-metadata", "169.254.170.2/32"),
        ("cloud-metadata", "fd00:ec2::254/128"),
        ("cloud-metadata", "100.100.100.200/32"),
        ("cloud-metadata", "192.0.0.192/32"),
        ("link-local", "169.254.0.0/16"),
        ("link-local", "fe80::/10"),
        ("unspecified", "0.0.0.0/8"),
        ("unspecified", "::/128"),
        ("multicast", "224.0.0.0/4"),
        ("multicast", "ff00::/8"),
        ("broadcast", "255.255.255.255/32"),
    )
)
DENIED_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
    }
)


class OutboundForbidden(Exception):
    """The policy refuses the target; nothing was sent. `rule` names the rule."""

    def __init__(self, host: str, rule: str) -> None:
        super().__init__(f"connections to {host!r} are forbidden by the outbound rule {rule}")
        self.host = host
        self.rule = rule


@dataclass(frozen=True)
class OutboundPolicy:
    deny: tuple[Network, ...] = ()
    allow: tuple[Network, ...] = ()  # empty: every address the denials leave

    @classmethod
    def from_cidrs(cls, *, deny: Iterable[str] = (), allow: Iterable[str] = ()) -> OutboundPolicy:
        """Raises ValueError naming a malformed CIDR."""
        return cls(deny=_networks(deny), allow=_networks(allow))

    def rule_against(self, address: Address) -> str | None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        for rule, network in FIXED_DENIED:
            if address in network:
                return rule
        if any(address in network for network in self.deny):
            return "denied-cidr"
        if self.allow and not any(address in network for network in self.allow):
            return "not-in-allowed-cidrs"
        return None

    def resolve(self, host: str, port: int) -> list[str]:
        """Every address of `host`, each checked; OutboundForbidden if any is refused, OSError if none."""
        if host.rstrip(".").lower() in DENIED_NAMES:
            raise OutboundForbidden(host, "cloud-metadata")
        try:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
        for address in addresses:
            rule = self.rule_against(address)
            if rule is not None:
                raise OutboundForbidden(host, rule)
        return [str(address) for address in addresses]


class PinnedTransport(httpx.BaseTransport):
    """Sends each request to an address its policy checked (see the module's note)."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            addresses = self.policy.resolve(host, port)
        except OSError as error:
            raise httpx.ConnectError(f"cannot resolve {host!r}: {error.strerror or error}", request=request) from None
        if request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        last: httpx.ConnectError | None = None
        for address in addresses:
            request.url = request.url.copy_with(host=address)  # the Host header keeps the name
            try:
                return self._inner.handle_request(request)
            except httpx.ConnectError as error:
                last = error
        assert last is not None
        raise last

    def close(self) -> None:
        self._inner.close()


def _networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
        except ValueError:
            raise ValueError(f"{cidr!r} is not a CIDR (10.0.0.0/8, 127.0.0.1/32, fd00::/8)") from None
    return tuple(networks)
