"""Where a connection may go, and a transport that keeps to it: the one outbound policy of the project.

The agent uses it for actions that name a URL (`health.check`), with `[outbound] deny_cidrs`/`allow_cidrs`
(docs/AGENT.md); the control plane uses the same code for every connection to a cluster, with
`CONTROLPLANE_OUTBOUND_*` (`controlplane/outbound/`, docs/SECURITY.md). It lives in the agent package because
the agent never imports the control plane, while the control plane may import the agent's Django-free modules.

Order of the rules: a denied name, then the fixed denials (cloud metadata, link-local, unspecified, multicast,
broadcast: never a cluster), then the deny list, then the allow list (when set, an address outside it is
refused). Private ranges and loopback pass by default: clusters live there. A host is resolved once, every
address it resolves to must pass, and the request goes to a checked address with the host kept in the Host
header and as the TLS server name, so a DNS answer that changes between the check and the connection
(rebinding) cannot move it.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

FORBIDDEN = "OUTBOUND_TARGET_FORBIDDEN"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# (rule, network): the first match names the rule in the error.
FIXED_DENIED: tuple[tuple[str, Network], ...] = tuple(
    (rule, ipaddress.ip_network(cidr))
    for rule, cidr in (
        ("cloud-metadata", "169.254.169.254/32"),  # AWS, Azure, GCP, OpenStack, DigitalOcean, Oracle
        ("cloud-metadata", "169.254.170.2/32"),  # AWS ECS task metadata
        ("cloud-metadata", "fd00:ec2::254/128"),  # AWS over IPv6
        ("cloud-metadata", "100.100.100.200/32"),  # Alibaba Cloud
        ("cloud-metadata", "192.0.0.192/32"),  # Oracle Cloud (classic)
        ("link-local", "169.254.0.0/16"),
        ("link-local", "fe80::/10"),
        ("unspecified", "0.0.0.0/8"),
        ("unspecified", "::/128"),
        ("multicast", "224.0.0.0/4"),
        ("multicast", "ff00::/8"),
        ("broadcast", "255.255.255.255/32"),
    )
)
# Names of metadata services, refused before any lookup (compared without a trailing dot, any case).
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
        """The rule that refuses this address, or None when it may be reached."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
        for rule, network in FIXED_DENIED:
            if address in network:
                return rule
        if any(address in network for network in self.deny):
            return "denied-cidr"
        if self.allow and not any(address in network for network in self.allow):
            return "not-in-allowed-cidrs"
        return None

    def resolve(self, host: str, port: int) -> list[str]:
        """Every address of `host`, each checked; OutboundForbidden if the name or any address is refused, OSError
        if the name does not resolve (the caller's "unreachable")."""
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
            request.url = request.url.copy_with(host=address)  # the Host header keeps the name
            try:
                return self._inner.handle_request(request)
            except httpx.ConnectError as error:  # nothing was sent: the next address is safe, even for a submit
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
