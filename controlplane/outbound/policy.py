"""Which addresses the control plane may connect to (docs/SECURITY.md, "Outbound connections and rate limits").

Django-free. A host is resolved once; every address it resolves to must pass, and the caller connects to one of
those very addresses (``transport.py``), so a DNS answer that changes between the check and the connection
(rebinding) cannot move the connection elsewhere.

Order of the rules: a denied name, then the fixed denials (cloud metadata, link-local, unspecified, multicast,
broadcast: never a cluster), then the operator's deny list, then the operator's allow list (when set, an
address outside it is refused). Private ranges and loopback pass by default: clusters live there, and
``make run``'s demo engine is on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from controlplane.errors import DomainError

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


class OutboundTargetForbidden(DomainError):
    """A connection the policy refuses; ``details.rule`` names the rule. Nothing was sent."""

    code = "OUTBOUND_TARGET_FORBIDDEN"


@dataclass(frozen=True)
class OutboundPolicy:
    deny: tuple[Network, ...] = ()
    allow: tuple[Network, ...] = ()  # empty: every address the denials leave

    @classmethod
    def from_cidrs(cls, *, deny: Iterable[str] = (), allow: Iterable[str] = ()) -> OutboundPolicy:
        """Raises ValueError naming a malformed CIDR."""
        return cls(deny=tuple(parse_cidrs(deny)), allow=tuple(parse_cidrs(allow)))

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

    def check_name(self, host: str) -> None:
        if host.rstrip(".").lower() in DENIED_NAMES:
            raise _forbidden(host, "cloud-metadata")

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to, each checked; OutboundTargetForbidden if any of them (or the name) is
        refused. A name that does not resolve raises OSError (the caller's "unreachable")."""
        self.check_name(host)
        literal = _literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
        for address in addresses:
            rule = self.rule_against(address)
            if rule is not None:
                raise _forbidden(host, rule)
        return [str(address) for address in addresses]


def parse_cidrs(cidrs: Iterable[str]) -> list[Network]:
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{cidr!r} is not a CIDR (10.0.0.0/8, 127.0.0.1/32, fd00::/8)") from None
    return networks


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _forbidden(host: str, rule: str) -> OutboundTargetForbidden:
    return OutboundTargetForbidden(
        f"connections to {host!r} are forbidden by the outbound rule {rule}", host=host, rule=rule
    )
