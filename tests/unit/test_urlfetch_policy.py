"""The address policy and the host parser on their own: no sockets, no DNS."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediashelf.net.policy import UrlRefused, embedded_ipv4, is_public_address, parse_ipv4


@pytest.mark.parametrize("address", [
    "0.0.0.0", "0.1.2.3", "10.0.0.1", "100.64.0.1", "100.127.255.254", "127.0.0.1",
    "127.255.255.255", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8",
    "192.0.2.1", "192.88.99.1", "192.168.0.1", "198.18.0.1", "198.19.255.255", "198.51.100.1",
    "203.0.113.1", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
    "::8.8.8.8", "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "100::1",
    "2001::1", "2001:db8::1", "2002:7f00:1::", "2002:a00:1::", "3fff::1", "5f00::1",
    "fc00::1", "fd00::1", "fe80::1", "fec0::1", "ff02::1", "ff0e::1",
])
def test_special_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", [
    "1.1.1.1", "8.8.8.8", "93.184.216.34", "100.63.255.255", "100.128.0.1", "172.15.255.255",
    "172.32.0.1", "192.169.0.1", "223.255.255.254", "2606:4700:4700::1111", "2a00:1450::1",
    "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
])
def test_public_addresses_are_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


def test_zone_ids_are_never_public() -> None:
    assert not is_public_address(ipaddress.IPv6Address("2606:4700::1%eth0"))


def test_embedded_ipv4() -> None:
    assert str(embedded_ipv4(ipaddress.IPv6Address("::ffff:1.2.3.4"))) == "1.2.3.4"
    assert str(embedded_ipv4(ipaddress.IPv6Address("64:ff9b::102:304"))) == "1.2.3.4"
    assert str(embedded_ipv4(ipaddress.IPv6Address("2002:102:304::"))) == "1.2.3.4"
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::1")) is None


@pytest.mark.parametrize(("host", "expected"), [
    ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0x7f.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("017700000001", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"), ("0", "0.0.0.0"), ("0x", "0.0.0.0"), ("10.0x10.0", "10.16.0.0"),
    ("example.com", None), ("1.2.3.4x", None), ("0x7fg", None),
])
def test_parse_ipv4_forms(host: str, expected: str | None) -> None:
    got = parse_ipv4(host)
    assert (str(got) if got else None) == expected


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1.16777216",
                                  "4294967296", "08", "1.09", "foo.1", "0xg.1"])
def test_parse_ipv4_refuses_malformed_numbers(host: str) -> None:
    with pytest.raises(UrlRefused):
        parse_ipv4(host)


@given(st.text(alphabet="0123456789abcdefx.", min_size=1, max_size=24))
def test_no_parser_differential_with_the_system(host: str) -> None:
    # Whatever the C library would read as an address, we read as the same address (or refuse):
    # a host never reaches a resolver that would see an address we did not check.
    try:
        system = ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        system = None
    try:
        ours = parse_ipv4(host)
    except UrlRefused:
        return
    if system is not None:
        assert ours == system
