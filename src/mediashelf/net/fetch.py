"""URL import: the only code that opens outbound connections for imports.

Every hop is parsed and checked by policy.py, its host resolved once, every address checked, and
the connection made to a checked address only (pinned.py's httpcore network backend), while the URL
keeps its name so Host, SNI and certificate checks stay on it. Redirects are followed here, one
deadline bounds the whole download, and bytes stream into the caller's writer.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Protocol
from urllib.parse import unquote, urljoin, urlsplit

import httpcore
import httpx

from mediashelf.digits import ascii_int
from mediashelf.metrics import IMPORTS_REFUSED
from mediashelf.net.kept import KeptPools
from mediashelf.net.pinned import PinnedBackend, PinnedTransport, resolve_within, system_resolver
from mediashelf.net.policy import (
    PRIVATE_HINT,
    IPAddress,
    Target,
    UrlRefused,
    is_public_address,
    parse_url,
)
from mediashelf.settings import format_size

__all__ = ["Answer", "FetchFailed", "FetchResult", "Fetcher", "UrlRefused", "Writer"]

log = logging.getLogger("mediashelf.urlfetch")

_REDIRECTS = {301, 302, 303, 307, 308}
_USER_AGENT = "mediashelf-import/1"
_HOOK_AGENT = "mediashelf-webhooks/1"
_READ_TO_REUSE = 64 * 1024  # of a webhook answer, at most

class FetchFailed(Exception):
    """A download refused or failed after the URL was accepted; str() is safe to show a user."""

    def __init__(self, message: str, reason: str = "connect") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class Writer(Protocol):
    def write(self, data: bytes) -> None: ...


@dataclass(slots=True)
class Answer:
    """A receiver's answer to a POST: its status, the first bytes of its body, the time taken."""

    status: int
    head: bytes
    seconds: float


@dataclass(slots=True)
class FetchResult:
    content_type: str | None
    size: int
    sha256: str
    filename: str | None
    final_url: str


def _seconds(value: float) -> str:
    return f"{round(value, 1):g}"


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _filename(content_disposition: str | None, url: str) -> str | None:
    name = None
    if content_disposition:
        msg = Message()
        msg["content-disposition"] = content_disposition
        try:
            name = msg.get_filename()
        except (ValueError, LookupError, TypeError):
            name = None
    if not name:
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()[:255]
    return name if name not in ("", ".", "..") else None


class Fetcher:
    """Downloads an import URL under the address policy, redirect, time and size limits."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allowed_ports: Sequence[int] = (),
        connect_timeout: float = 10,
        read_timeout: float = 30,
        total_timeout: float = 600,
        max_redirects: int = 5,
        resolver: Callable[[str, int], list[str]] | None = None,
        is_public: Callable[[IPAddress], bool] | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.allow_private = allow_private
        self.allowed_ports = tuple(allowed_ports)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects
        self._resolve = resolver or system_resolver
        self._is_public = is_public or is_public_address
        if isinstance(verify, ssl.SSLContext):
            self._ssl = verify
        elif verify:
            self._ssl = httpx.create_ssl_context()  # honours SSL_CERT_FILE / SSL_CERT_DIR
        else:
            self._ssl = ssl.create_default_context()
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE
        self._kept = KeptPools(self._ssl)  # webhook connections (post)

    def close(self) -> None:
        """Close the connections kept between webhook deliveries."""
        self._kept.close()

    def _parse(self, url: str) -> Target:
        return parse_url(url, allow_private=self.allow_private,
                         allowed_ports=self.allowed_ports, is_public=self._is_public)

    def check(self, url: str) -> str:
        """Check a URL without DNS or connection; the normalised URL, or UrlRefused saying why."""
        try:
            return self._parse(url).url
        except UrlRefused as exc:
            IMPORTS_REFUSED.labels(reason=exc.reason).inc()
            log.info("url.refused", extra={"reason": exc.reason, "host": _host_of(url),
                                           "why": exc.message})
            raise

    def fetch(self, url: str, sink: Writer, max_bytes: int, *,
              max_bytes_label: str | None = None) -> FetchResult:
        """Download url into sink.write(); FetchFailed with a user-facing reason on refusal or
        failure. The caller commits or aborts the sink."""
        started = time.monotonic()
        try:
            result = self._fetch(url, sink, max_bytes, max_bytes_label or format_size(max_bytes),
                                 started + self.total_timeout)
        except FetchFailed as exc:
            IMPORTS_REFUSED.labels(reason=exc.reason).inc()
            log.info("url.failed", extra={"reason": exc.reason, "host": _host_of(url),
                                          "why": exc.message})
            raise
        log.info("url.fetched", extra={"host": _host_of(result.final_url), "bytes": result.size,
                                       "seconds": round(time.monotonic() - started, 2)})
        return result

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float,
             keep: int = 1024) -> Answer:
        """POST body to url under the same policy as a download: the URL checked, its host
        resolved now and every address checked (DNS may have changed since it was accepted),
        no redirect followed, one deadline for the whole exchange. FetchFailed says why not."""
        started = time.monotonic()
        deadline = started + timeout
        try:
            target = self._parse(url)
        except UrlRefused as exc:
            raise FetchFailed(exc.message, exc.reason) from None
        pins: dict[str, list[str]] = {}
        self._pin(target, pins, deadline, redirected=False)  # on every delivery: DNS changes
        at = httpx.URL(target.url)  # percent-encodes what the policy leaves as text
        # httpcore alone: one POST, no redirects, no cookies (httpx's client was most of a
        # delivery's CPU for nothing), on a connection kept for these checked addresses
        pool = self._kept.pool(at.raw_scheme, target.host, at.port, pins[target.host],
                               deadline)
        sent = [(b"Host", at.netloc), (b"User-Agent", _HOOK_AGENT.encode()),
                (b"Content-Type", b"application/json"),
                *((k.encode(), v.encode()) for k, v in headers.items())]
        left = max(deadline - time.monotonic(), 0.001)
        where = httpcore.URL(scheme=at.raw_scheme, host=at.raw_host, port=at.port,
                             target=at.raw_path)
        try:
            with pool.stream("POST", where, headers=sent, content=body, extensions={
                    "timeout": dict.fromkeys(("connect", "read", "write", "pool"), left)}) as resp:
                head = b""
                for chunk in resp.iter_stream():
                    head += chunk
                    # a short answer read to its end leaves the connection reusable; past
                    # this, closing it is cheaper than reading on
                    if len(head) >= max(keep, _READ_TO_REUSE):
                        break
                return Answer(resp.status, head[:keep], time.monotonic() - started)
        except httpcore.TimeoutException:
            raise FetchFailed(f"no answer within {_seconds(timeout)} s", "timeout") from None
        except httpcore.ConnectError as exc:
            if _ssl_cause(exc) is not None:
                raise FetchFailed(f"TLS certificate check failed for {target.host}",
                                  "tls") from None
            raise FetchFailed(f"could not connect to {target.host}") from None
        except (httpcore.NetworkError, httpcore.ProtocolError):
            raise FetchFailed(f"the connection to {target.host} was interrupted or its "
                              "answer was invalid", "protocol") from None

    def _fetch(self, url: str, sink: Writer, max_bytes: int, limit: str,
               deadline: float) -> FetchResult:
        try:
            target = self._parse(url)
        except UrlRefused as exc:
            raise FetchFailed(exc.message, exc.reason) from None
        pins: dict[str, list[str]] = {}
        pool = httpcore.ConnectionPool(ssl_context=self._ssl, retries=0, max_connections=1,
                                       network_backend=PinnedBackend(pins, deadline))
        headers = {"user-agent": _USER_AGENT, "accept-encoding": "identity", "accept": "*/*"}
        with httpx.Client(transport=PinnedTransport(pool), trust_env=False,
                          follow_redirects=False, headers=headers) as client:
            for hop in range(self.max_redirects + 1):
                self._pin(target, pins, deadline, redirected=hop > 0)
                left = max(deadline - time.monotonic(), 0.001)
                timeout = httpx.Timeout(min(self.read_timeout, left),
                                        connect=min(self.connect_timeout, left))
                try:
                    with client.stream("GET", target.url, timeout=timeout) as resp:
                        if resp.status_code in _REDIRECTS:
                            target = self._next_hop(target, resp, hop)
                            continue
                        if resp.status_code != 200:
                            raise FetchFailed(f"server answered {resp.status_code}",
                                              "http_status")
                        return self._read_body(resp, target, sink, max_bytes, limit)
                except (httpcore.TimeoutException, httpx.TimeoutException) as exc:
                    raise self._timeout(exc, deadline, target) from None
                except (httpcore.ConnectError, httpx.ConnectError) as exc:
                    if _ssl_cause(exc) is not None:
                        raise FetchFailed(f"TLS certificate check failed for {target.host}",
                                          "tls") from None
                    raise FetchFailed(f"could not connect to {target.host}") from None
                except (httpcore.NetworkError, httpcore.ProtocolError, httpx.HTTPError):
                    raise FetchFailed(f"download from {target.host} was interrupted or "
                                      "its response was invalid") from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _timeout(self, exc: Exception, deadline: float, target: Target) -> FetchFailed:
        if time.monotonic() >= deadline - 0.05:
            return FetchFailed(f"timed out after {_seconds(self.total_timeout)} s", "timeout")
        if isinstance(exc, httpcore.ConnectTimeout | httpx.ConnectTimeout):
            return FetchFailed(f"timed out after {_seconds(self.connect_timeout)} s connecting "
                               f"to {target.host}", "timeout")
        return FetchFailed(f"timed out after {_seconds(self.read_timeout)} s waiting for data",
                           "timeout")

    def _pin(self, target: Target, pins: dict[str, list[str]], deadline: float,
             *, redirected: bool) -> None:
        """Resolve a host once per download and keep only checked addresses to connect to."""
        if target.host in pins:
            return  # never a second lookup for a name already checked, whatever the port
        if target.ip is not None:
            addresses: list[IPAddress] = [target.ip]
        else:
            left = min(self.connect_timeout, deadline - time.monotonic())
            try:
                names = resolve_within(lambda: self._resolve(target.host, target.port), left)
            except TimeoutError:
                raise FetchFailed(f"timed out after {_seconds(self.connect_timeout)} s "
                                  f"looking up {target.host}", "timeout") from None
            except (OSError, UnicodeError, ValueError):
                raise FetchFailed(f"could not resolve {target.host}") from None
            addresses = []
            for name in names:
                try:
                    addresses.append(ipaddress.ip_address(name))
                except ValueError:  # a zone id or junk: never public
                    addresses.append(ipaddress.IPv6Address("::"))
            if not addresses:
                raise FetchFailed(f"could not resolve {target.host}")
        if not self.allow_private and not all(self._is_public(a) for a in addresses):
            what = "redirect target" if redirected else "url"
            raise FetchFailed(f"{what} resolves to a private address" + PRIVATE_HINT,
                              "private_address")
        usable = []
        for a in addresses:
            plain = a.ipv4_mapped if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped else a
            if str(plain) not in usable:
                usable.append(str(plain))
        pins[target.host] = usable

    def _next_hop(self, target: Target, resp: httpx.Response, hop: int) -> Target:
        location = resp.headers.get("location", "").strip()
        if not location:
            raise FetchFailed(f"server answered {resp.status_code} without a location",
                              "http_status")
        if hop >= self.max_redirects:
            raise FetchFailed(f"too many redirects (more than {self.max_redirects})",
                              "redirects")
        try:
            return self._parse(urljoin(target.url, location))
        except (UrlRefused, ValueError) as exc:
            why = exc.message if isinstance(exc, UrlRefused) else "url is not valid"
            reason = exc.reason if isinstance(exc, UrlRefused) else "invalid_url"
            raise FetchFailed(f"redirect refused: {why}", reason) from None

    def _read_body(self, resp: httpx.Response, target: Target, sink: Writer, max_bytes: int,
                   limit: str) -> FetchResult:
        declared = ascii_int(resp.headers.get("content-length", "").strip())
        if declared is not None and declared > max_bytes:
            raise FetchFailed(f"download larger than {limit}", "too_large")
        digest = hashlib.sha256()
        size = 0
        for chunk in resp.iter_raw():
            size += len(chunk)
            if size > max_bytes:
                raise FetchFailed(f"download larger than {limit}", "too_large")
            sink.write(chunk)
            digest.update(chunk)
        content_type = resp.headers.get("content-type")
        mime = content_type.split(";")[0].strip().lower() if content_type else None
        return FetchResult(content_type=mime or None, size=size, sha256=digest.hexdigest(),
                           filename=_filename(resp.headers.get("content-disposition"),
                                              target.url),
                           final_url=target.url)


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "-")[:100]
    except ValueError:
        return "-"
