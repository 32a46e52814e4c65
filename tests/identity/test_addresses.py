"""Which addresses a domain check may connect to (spec §9.2; registry.net.is_public_address)."""

from __future__ import annotations

import ipaddress

import pytest

from registry.net import is_public_address

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "192.0.0.9",  # IANA: globally reachable (PCP anycast)
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",  # IPv4-mapped: judged as the IPv4 address
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]
NOT_PUBLIC = [
    "127.0.0.1",  # loopback
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # shared address space (CGNAT)
    "169.254.169.254",  # link-local: cloud metadata services
    "0.0.0.0",  # unspecified
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "224.0.0.1",  # multicast (ipaddress calls some multicast "global")
    "233.252.0.1",
    "::",
    "::1",
    "fe80::1",
    "fe80::1%eth0",  # a zone: link-local only
    "fc00::1",  # unique local
    "fec0::1",  # site-local (deprecated, never public)
    "ff0e::1",  # global-scope multicast
    "2001:db8::1",  # documentation
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b:1::1",  # local-use NAT64 prefix
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
]


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


def test_a_non_address_raises() -> None:
    with pytest.raises(ValueError, match="does not appear to be"):
        is_public_address("alice.example")
