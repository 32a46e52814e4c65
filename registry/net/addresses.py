"""Which IP addresses the node may connect to on a stranger's behalf (spec §9.2).

A creator names a domain and the node fetches from wherever its DNS points. Without a rule, a
domain resolving to ``127.0.0.1``, ``10.0.0.5`` or ``169.254.169.254`` would make the node
request its own admin endpoints, its database host or a cloud metadata service (server-side
request forgery). An address is **public** when it is globally routable unicast: not loopback,
private, shared (CGNAT), link-local, site-local, documentation, benchmarking, reserved,
unspecified or multicast (IANA special-purpose registries, as :mod:`ipaddress` knows them).
An IPv6 address that carries an IPv4 address (IPv4-mapped, NAT64 ``64:ff9b::/96``, 6to4,
Teredo) is public only if the IPv4 address it leads to is.
"""

from __future__ import annotations

import ipaddress
from typing import Final

__all__ = ["is_public_address"]

_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
"""RFC 6052 well-known prefix: the last 32 bits are the IPv4 address reached."""
_NAT64_LOCAL: Final = ipaddress.IPv6Network("64:ff9b:1::/48")
"""RFC 8215 local-use translation prefix: never globally meaningful."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to (mapped, NAT64, 6to4, Teredo)."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def is_public_address(address: str | IPAddress) -> bool:
    """Whether ``address`` is a globally routable unicast address (module docstring).

    ``address`` is an :mod:`ipaddress` object or its text (an IPv6 zone ``%eth0`` makes it
    non-public: only link-local addresses need one).

    Raises:
        ValueError: ``address`` is not an IP address.
    """
    if isinstance(address, str):
        if "%" in address:
            return False
        address = ipaddress.ip_address(address)
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded:
            return all(is_public_address(inner) for inner in embedded)
        if address in _NAT64_LOCAL or address.is_site_local:
            return False
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_unspecified
    )
