"""Which URLs and addresses a URL import may reach: strict parsing and the public-address test.

Pure functions, no DNS and no sockets; fetch.py applies them before every connection.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

from mediashelf.digits import ascii_int
from mediashelf.errors import BadRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 4096

# Not reachable on the public internet, or not meant to be (RFC 6890 and successors).
_BLOCKED_V4 = [ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24",
    "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
)]
_GLOBAL_V6 = ipaddress.IPv6Network("2000::/3")
_BLOCKED_V6 = [ipaddress.IPv6Network(n) for n in (
    "2001::/23",  # IETF protocol assignments, Teredo among them
    "2001:db8::/32", "3fff::/20",  # documentation
    "3ffe::/16",  # the old 6bone
    "5f00::/16",  # SRv6 segment ids
)]
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")

# Names that only ever mean this machine or a local network (RFC 6761, 6762, 8375).
_LOCAL_SUFFIXES = ("localhost", "localdomain", "local", "internal", "home.arpa", "lan")

_SCHEME_RE = re.compile(r"[a-z][a-z0-9+.-]{0,31}")
_LABEL_RE = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL_RE = re.compile(r"0x[0-9a-f]*|[0-9]+")


class UrlRefused(BadRequest):
    """A URL refused before any connection; the message says why, reason is a metric label."""

    def __init__(self, message: str, reason: str = "invalid_url") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed URL that passed the policy; host is ASCII, lowercase, without brackets."""

    scheme: str
    host: str
    port: int
    path: str
    ip: IPAddress | None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == DEFAULT_PORTS[self.scheme] else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path}"


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried by an IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4 address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses that are not special-purpose."""
    if isinstance(ip, ipaddress.IPv4Address):
        return not any(ip in net for net in _BLOCKED_V4)
    if ip.scope_id:
        return False
    v4 = embedded_ipv4(ip)
    if v4 is not None:
        return is_public_address(v4)
    if ip in _V4_COMPATIBLE or ip not in _GLOBAL_V6:
        return False
    return not any(ip in net for net in _BLOCKED_V6)


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address in any form inet_aton accepts (127.1, 0x7f.1, 2130706433, 0177.0.0.1).

    Returns None when the host is a domain name; raises UrlRefused for a malformed number,
    as browsers (WHATWG URL) do when the last label looks numeric.
    """
    labels = host.split(".")
    if not _NUMERIC_LABEL_RE.fullmatch(labels[-1]):
        return None
    if len(labels) > 4:
        raise UrlRefused("url host is not a valid address")
    numbers = []
    for label in labels:
        try:
            if label.startswith("0x"):
                numbers.append(int(label[2:] or "0", 16))
            elif len(label) > 1 and label.startswith("0"):
                numbers.append(int(label, 8))
            else:
                numbers.append(int(label, 10))
        except ValueError:
            raise UrlRefused("url host is not a valid address") from None
    last = numbers.pop()
    if any(n > 255 for n in numbers) or last >= 256 ** (4 - len(numbers)):
        raise UrlRefused("url host is not a valid address")
    value = last
    for i, n in enumerate(numbers):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _ascii_host(host: str) -> str:
    if not host.isascii():
        # UTS 46 mapping first, so fullwidth digits and dots (U+FF11, U+FF0E) become what a
        # resolver would see, and only then decide whether it is an address.
        try:
            host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise UrlRefused("url host is not a valid domain name") from None
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    return host


def _is_local_name(host: str) -> bool:
    # Single-label names resolve through search domains; the suffixes name this network.
    return "." not in host or any(host == s or host.endswith("." + s) for s in _LOCAL_SUFFIXES)


def _split_netloc(netloc: str) -> tuple[str, str | None]:
    if "@" in netloc:
        raise UrlRefused("url must not contain a user name or password")
    if netloc.startswith("["):
        end = netloc.find("]")
        rest = netloc[end + 1:]
        if end < 0 or (rest and not rest.startswith(":")):
            raise UrlRefused("url host is not valid")
        return netloc[:end + 1], rest[1:] if rest else None
    host, sep, port = netloc.rpartition(":")
    if not sep:
        return netloc, None
    if ":" in host:
        raise UrlRefused("url host is not valid")
    return host, port


# Refusals name the server setting that lifts them: the operator reading a client's report can.
PRIVATE_HINT = " (a server allows these with MEDIASHELF_ALLOW_PRIVATE_URLS=true)"


def port_hint(scheme: str) -> str:
    """How a refused port can be allowed."""
    return (f" (only {DEFAULT_PORTS[scheme]} unless the server lists it in "
            "MEDIASHELF_ALLOWED_PORTS)")


def parse_url(
    url: str,
    *,
    allow_private: bool,
    allowed_ports: Collection[int] = (),
    is_public: Callable[[IPAddress], bool] = is_public_address,
) -> Target:
    """Parse a URL strictly and apply the import policy; raises UrlRefused saying why."""
    url = url.strip() if isinstance(url, str) else ""
    if not url:
        raise UrlRefused("url is empty")
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused("url is too long")
    if "\\" in url or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise UrlRefused("url must not contain spaces, control characters or backslashes")
    scheme, sep, rest = url.partition(":")
    scheme = scheme.lower()
    if not sep or not _SCHEME_RE.fullmatch(scheme):
        raise UrlRefused("url is not valid; it must start with https://")
    if scheme not in DEFAULT_PORTS:
        raise UrlRefused(f"url scheme {scheme}: is not allowed; use https://", "scheme")
    if scheme == "http" and not allow_private:
        raise UrlRefused("only https:// urls are allowed" + PRIVATE_HINT, "scheme")
    if not rest.startswith("//"):
        raise UrlRefused("url is not valid; it must start with https://")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UrlRefused("url is not valid") from None
    raw_host, raw_port = _split_netloc(parts.netloc)
    if not raw_host:
        raise UrlRefused("url has no host")

    ip: IPAddress | None
    if raw_host.startswith("["):
        if "%" in raw_host:
            raise UrlRefused("url host must not carry a zone id")
        try:
            ip = ipaddress.IPv6Address(raw_host[1:-1])
        except ValueError:
            raise UrlRefused("url host is not a valid address") from None
        host = ip.compressed
    else:
        if "%" in raw_host:
            raise UrlRefused("url host contains invalid characters")
        host = _ascii_host(raw_host)
        ip = parse_ipv4(host) if host else None
        if ip is not None:
            host = str(ip)
        elif not host or len(host) > 253 or not all(
                _LABEL_RE.fullmatch(label) for label in host.split(".")):
            raise UrlRefused("url host is not a valid domain name")

    port = DEFAULT_PORTS[scheme]
    if raw_port:
        number = ascii_int(raw_port)
        if number is None or not 0 < number < 65536:
            raise UrlRefused("url port is not valid", "port")
        port = number

    if not allow_private:
        if ip is not None and not is_public(ip):
            raise UrlRefused("url points to a private address" + PRIVATE_HINT, "private_address")
        if ip is None and _is_local_name(host):
            raise UrlRefused("url points to a local host name" + PRIVATE_HINT, "private_address")
        if port != DEFAULT_PORTS[scheme] and port not in allowed_ports:
            raise UrlRefused(f"url port {port} is not allowed" + port_hint(scheme), "port")

    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=host, port=port, path=path, ip=ip)
