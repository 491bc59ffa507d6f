"""URL import fetcher: hostile URLs never reach the network; honest ones download the same bytes.

Every server here is real and listens on loopback. "Public" hosts are 127.0.0.2 declared public by
an injected address policy, names come from an injected resolver: no test touches real DNS.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from tests.support.http_servers import (
    Canary,
    LocalCA,
    ScriptedServer,
    body,
    canary,
    drip,
    endless,
    endless_chunked,
    lying_length,
    make_test_ca,
    redirect,
    scripted_server,
    stall_headers,
    status,
)

from mediashelf.domain import AssetType
from mediashelf.media.kinds import guess_type
from mediashelf.net.fetch import Fetcher, FetchFailed, UrlRefused
from mediashelf.settings import format_size

ALLOW_PRIVATE = " (a server allows these with MEDIASHELF_ALLOW_PRIVATE_URLS=true)"
ALLOW_PORT = " (only 443 unless the server lists it in MEDIASHELF_ALLOWED_PORTS)"
PUBLIC = "127.0.0.2"  # loopback, but declared public by the tests' policy
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
VIDEO = b"\0\0\0\x18ftypmp42" + b"v" * 70_000
AUDIO = b"ID3\x04\0\0\0\0\0\0" + b"a" * 30_000


class Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data


def resolver_for(names: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise OSError("unknown test name")
        return names[host]
    return resolve


def only_public(*addresses: str) -> Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address],
                                             bool]:
    allowed = {ipaddress.ip_address(a) for a in addresses}
    return lambda ip: ip in allowed


def refused_count(reason: str) -> float:
    return REGISTRY.get_sample_value("mediashelf_imports_refused_total", {"reason": reason}) or 0


@pytest.fixture
def trap() -> Iterator[Canary]:
    with canary() as c:
        yield c


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return make_test_ca()


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("certs")


# --- hostile URLs: refused before any connection ------------------------------------------

HOSTILE = [
    # schemes
    "file:///etc/passwd",
    "ftp://example.com/a.png",
    "gopher://127.0.0.1:{port}/_GET%20/",
    "dict://127.0.0.1:{port}/info",
    "data:image/png;base64,iVBORw0KGgo=",
    "javascript:alert(1)",
    "http://example.com/a.png",  # plain http outside private mode
    "http://127.0.0.1:{port}/",
    "https:/127.0.0.1:{port}/",
    "//127.0.0.1:{port}/",
    # loopback and its spellings
    "https://127.0.0.1:{port}/",
    "https://127.0.0.1.:{port}/",
    "https://2130706433:{port}/",
    "https://0x7f000001:{port}/",
    "https://0x7f.1:{port}/",
    "https://127.1:{port}/",
    "https://0177.0.0.1:{port}/",
    "https://017700000001:{port}/",
    "https://0x7F.0x0.0x0.0x1:{port}/",
    "https://127.000.000.001:{port}/",
    "https://0:{port}/",
    "https://0.0.0.0:{port}/",
    "https://localhost:{port}/",
    "https://LOCALHOST.:{port}/",
    "https://api.localhost:{port}/",
    "https://intranet:{port}/",
    "https://[::1]:{port}/",
    "https://[::]:{port}/",
    "https://[0:0:0:0:0:0:0:1]:{port}/",
    # IPv4 inside IPv6
    "https://[::ffff:127.0.0.1]:{port}/",
    "https://[::ffff:7f00:1]:{port}/",
    "https://[::127.0.0.1]:{port}/",
    "https://[64:ff9b::127.0.0.1]:{port}/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[2002:7f00:1::]:{port}/",
    "https://[::ffff:169.254.169.254]/",
    # private, shared, link-local, multicast, broadcast, reserved, documentation
    "https://10.0.0.1/",
    "https://172.16.5.4/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://224.0.0.1/",
    "https://255.255.255.255/",
    "https://240.0.0.1/",
    "https://198.18.0.1/",
    "https://192.0.2.1/",
    "https://198.51.100.7/",
    "https://203.0.113.9/",
    "https://192.0.0.8/",
    # IPv6 private ranges
    "https://[fe80::1]/",
    "https://[fe80::1%25lo]:{port}/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[ff02::1]/",
    "https://[2001:db8::1]/",
    "https://[fec0::1]/",
    # userinfo and parser tricks
    "https://good.com@127.0.0.1:{port}/",
    "https://good.com:pw@127.0.0.1:{port}/",
    "https://127.0.0.1:{port}#@good.com/",
    "https://127.0.0.1:{port}\\@good.com/",
    "https://good.com\\@127.0.0.1:{port}/",
    "https://127.0.0.1:{port}%2F@good.com/",
    "https://127.0.0.%31:{port}/",
    "https://good .com/",
    "https://good.com\t@127.0.0.1:{port}/",
    "https://good.com\n.evil/",
    # IDNA lookalikes that map to loopback
    "https://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/",
    "https://127\u30020\u30020\u30021:{port}/",
    "https://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3:{port}/",
    # ports
    "https://example.com:22/",
    "https://example.com:6379/",
    "https://example.com:0/",
    "https://example.com:99999/",
    "https://example.com:-1/",
    "https://example.com:0x50/",
    # unparseable
    "",
    "   ",
    "not a url",
    "https://",
    "https:///path",
    "https://[::1/",
    "https://1.2.3.4.5/",
    "https://foo.0x1/",
    "https://" + "a" * 5000 + ".com/",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_url_is_refused_without_a_connection(template: str, trap: Canary) -> None:
    url = template.replace("{port}", str(trap.port))
    fetcher = Fetcher(allowed_ports=[trap.port], resolver=resolver_for({}))
    with pytest.raises(UrlRefused) as refused:
        fetcher.check(url)
    assert refused.value.message and "Traceback" not in refused.value.message
    with pytest.raises(FetchFailed):
        fetcher.fetch(url, Sink(), 10**6)
    assert trap.hits == 0


def test_the_battery_is_large_enough() -> None:
    assert len(HOSTILE) >= 40


RESOLVES_PRIVATE = {
    "evil.test": ["127.0.0.1"],
    "mixed.test": [PUBLIC, "127.0.0.1"],
    "metadata.test": ["169.254.169.254"],
    "v6loop.test": ["::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "nat64.test": ["64:ff9b::7f00:1"],
    "zoned.test": ["fe80::1%lo"],
    "ula.test": ["fd00::1"],
    "rfc1918.test": ["10.1.2.3"],
    "junk.test": ["not-an-address"],
}


@pytest.mark.parametrize("name", sorted(RESOLVES_PRIVATE))
def test_name_resolving_to_a_private_address_fails(name: str, trap: Canary) -> None:
    fetcher = Fetcher(allowed_ports=[trap.port], resolver=resolver_for(RESOLVES_PRIVATE),
                      is_public=only_public(PUBLIC))
    url = f"https://{name}:{trap.port}/a.png"
    assert fetcher.check(url) == url  # a name passes the cheap check: DNS decides later
    before = refused_count("private_address")
    with pytest.raises(FetchFailed) as failed:
        fetcher.fetch(url, Sink(), 10**6)
    assert str(failed.value) == "url resolves to a private address" + ALLOW_PRIVATE
    assert failed.value.reason == "private_address"
    assert refused_count("private_address") == before + 1
    assert trap.hits == 0


def test_check_normalises() -> None:
    fetcher = Fetcher(resolver=resolver_for({}))
    assert fetcher.check("  HTTPS://Example.COM./a%20b.png?x=1#frag ") == \
        "https://example.com/a%20b.png?x=1"
    assert fetcher.check("https://b\u00fccher.example/x.mp3") == "https://xn--bcher-kva.example/x.mp3"
    assert fetcher.check("https://134744072/x") == "https://8.8.8.8/x"
    assert fetcher.check("https://example.com:443") == "https://example.com/"
    assert fetcher.check("https://[2606:4700:4700::1111]/a") == "https://[2606:4700:4700::1111]/a"
    assert fetcher.check("https://[64:ff9b::808:808]/a") == "https://[64:ff9b::808:808]/a"


def test_refusal_messages_say_why() -> None:
    fetcher = Fetcher(resolver=resolver_for({}))
    cases = {
        "ftp://example.com/a": "url scheme ftp: is not allowed; use https://",
        "http://example.com/a": "only https:// urls are allowed" + ALLOW_PRIVATE,
        "https://10.0.0.1/": "url points to a private address" + ALLOW_PRIVATE,
        "https://example.com:8080/": "url port 8080 is not allowed" + ALLOW_PORT,
        "https://u:p@example.com/": "url must not contain a user name or password",
    }
    for url, message in cases.items():
        with pytest.raises(UrlRefused, match=r"^" + re.escape(message) + "$"):
            fetcher.check(url)


def test_allowed_ports_setting() -> None:
    assert Fetcher(allowed_ports=[8443]).check("https://example.com:8443/a") == \
        "https://example.com:8443/a"
    with pytest.raises(UrlRefused):
        Fetcher(allowed_ports=[8443]).check("https://example.com:8444/a")


def test_private_mode_allows_http_loopback_and_any_port() -> None:
    fetcher = Fetcher(allow_private=True)
    assert fetcher.check("http://127.0.0.1:9/x") == "http://127.0.0.1:9/x"
    assert fetcher.check("http://localhost:8000/x") == "http://localhost:8000/x"
    with pytest.raises(UrlRefused):
        fetcher.check("file:///etc/passwd")
    with pytest.raises(UrlRefused):
        fetcher.check("http://a@127.0.0.1/")


def test_refusal_is_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    before = refused_count("scheme")
    with caplog.at_level(logging.INFO, logger="mediashelf.urlfetch"), \
            pytest.raises(UrlRefused):
        Fetcher().check("gopher://evil.example/x")
    assert refused_count("scheme") == before + 1
    [record] = [r for r in caplog.records if r.getMessage() == "url.refused"]
    assert (record.reason, record.host) == ("scheme", "evil.example")


# --- honest imports -------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "data", "mime", "kind"), [
    ("/media/photo.png", IMAGE, "image/png", AssetType.IMAGE),
    ("/media/clip.mp4", VIDEO, "video/mp4", AssetType.VIDEO),
    ("/media/song.mp3", AUDIO, "audio/mpeg", AssetType.AUDIO),
])
def test_honest_import_over_http_in_private_mode(path: str, data: bytes, mime: str,
                                                 kind: AssetType) -> None:
    with scripted_server({path: body(data, mime)}) as server:
        sink = Sink()
        result = Fetcher(allow_private=True).fetch(server.url(path), sink, 10**6)
    assert bytes(sink.data) == data
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.content_type == mime
    assert result.filename == path.rsplit("/", 1)[1]
    assert result.final_url == server.url(path)
    assert guess_type(result.filename, result.content_type) is kind


def test_honest_import_over_tls_connects_to_the_checked_address(
        ca: LocalCA, certs_dir: Path) -> None:
    seen_sni: list[str | None] = []
    ctx = ca.server_context("media.test", tmp_dir=certs_dir)
    ctx.sni_callback = lambda sock, name, c: seen_sni.append(name)  # type: ignore[assignment]
    routes = {"/a.png": redirect("/b.png"), "/b.png": body(IMAGE, "image/png")}
    with scripted_server(routes, host=PUBLIC, ssl_context=ctx) as server, \
            canary("127.0.0.1", server.port) as rebound:
        calls: list[str] = []

        def rebinding(host: str, port: int) -> list[str]:
            calls.append(host)  # first answer public, every later one the canary
            return [PUBLIC] if len(calls) == 1 else ["127.0.0.1"]

        fetcher = Fetcher(allowed_ports=[server.port], resolver=rebinding,
                          is_public=only_public(PUBLIC), verify=ca.client_context())
        sink = Sink()
        result = fetcher.fetch(f"https://media.test:{server.port}/a.png", sink, 10**6)
        assert rebound.hits == 0
    assert bytes(sink.data) == IMAGE
    assert calls == ["media.test"]  # one lookup for the whole download, redirect included
    assert result.final_url == f"https://media.test:{server.port}/b.png"
    assert [h.get("Host") for _, h in server.requests] == [f"media.test:{server.port}"] * 2
    assert seen_sni and set(seen_sni) == {"media.test"}


def test_next_address_is_tried_when_one_refuses() -> None:
    with scripted_server({"/a.wav": body(AUDIO, "audio/wav")}, host=PUBLIC) as server:
        fetcher = Fetcher(allow_private=True,
                          resolver=resolver_for({"multi.test": ["127.0.0.3", PUBLIC]}))
        sink = Sink()
        fetcher.fetch(f"http://multi.test:{server.port}/a.wav", sink, 10**6)
    assert bytes(sink.data) == AUDIO


def test_filename_from_content_disposition() -> None:
    headers = {"Content-Disposition": "attachment; filename=\"../../etc/My Song.mp3\""}
    with scripted_server({"/dl": body(AUDIO, "audio/mpeg", headers)}) as server:
        result = Fetcher(allow_private=True).fetch(server.url("/dl"), Sink(), 10**6)
    assert result.filename == "My Song.mp3"


# --- TLS ------------------------------------------------------------------------------------

def test_tls_name_mismatch_fails(ca: LocalCA, certs_dir: Path) -> None:
    ctx = ca.server_context("media.test", tmp_dir=certs_dir)
    with scripted_server({"/a.png": body(IMAGE)}, host=PUBLIC, ssl_context=ctx) as server:
        fetcher = Fetcher(allowed_ports=[server.port],
                          resolver=resolver_for({"other.test": [PUBLIC]}),
                          is_public=only_public(PUBLIC), verify=ca.client_context())
        sink = Sink()
        with pytest.raises(FetchFailed) as failed:
            fetcher.fetch(f"https://other.test:{server.port}/a.png", sink, 10**6)
    assert str(failed.value) == "TLS certificate check failed for other.test"
    assert failed.value.reason == "tls"
    assert not sink.data and not server.requests


def test_untrusted_certificate_fails(ca: LocalCA, certs_dir: Path) -> None:
    ctx = ca.server_context("media.test", tmp_dir=certs_dir)
    with scripted_server({"/a.png": body(IMAGE)}, host=PUBLIC, ssl_context=ctx) as server:
        fetcher = Fetcher(allowed_ports=[server.port],
                          resolver=resolver_for({"media.test": [PUBLIC]}),
                          is_public=only_public(PUBLIC))
        with pytest.raises(FetchFailed, match=r"^TLS certificate check failed for media.test$"):
            fetcher.fetch(f"https://media.test:{server.port}/a.png", Sink(), 10**6)


# --- redirects ------------------------------------------------------------------------------

@pytest.fixture
def public_tls(ca: LocalCA, certs_dir: Path) -> Callable[..., Fetcher]:
    def make(server: ScriptedServer, trap: Canary, **names: list[str]) -> Fetcher:
        return Fetcher(allowed_ports=[server.port, trap.port],
                       resolver=resolver_for({"media.test": [PUBLIC], "evil.test": ["127.0.0.1"],
                                              **names}),
                       is_public=only_public(PUBLIC), verify=ca.client_context())
    return make


REFUSED_PRIVATE = "redirect refused: url points to a private address" + ALLOW_PRIVATE


@pytest.mark.parametrize(("location", "message"), [
    ("https://127.0.0.1:{port}/x", REFUSED_PRIVATE),
    ("https://[::ffff:127.0.0.1]:{port}/x", REFUSED_PRIVATE),
    ("https://0x7f.1:{port}/x", REFUSED_PRIVATE),
    ("https://evil.test:{port}/x",
     "redirect target resolves to a private address" + ALLOW_PRIVATE),
    ("http://media.test:{port}/x", "redirect refused: only https:// urls are allowed"
                                 + ALLOW_PRIVATE),
    ("file:///etc/passwd", "redirect refused: url scheme file: is not allowed; use https://"),
    ("gopher://127.0.0.1:{port}/", "redirect refused: url scheme gopher: is not allowed; "
                                   "use https://"),
    ("https://u:p@media.test/", "redirect refused: url must not contain a user name or password"),
])
def test_redirect_into_a_refused_target_ends_the_import(
        location: str, message: str, ca: LocalCA, certs_dir: Path, trap: Canary,
        public_tls: Callable[..., Fetcher]) -> None:
    ctx = ca.server_context("media.test", tmp_dir=certs_dir)
    routes = {"/go": redirect(location.replace("{port}", str(trap.port)), 307)}
    with scripted_server(routes, host=PUBLIC, ssl_context=ctx) as server:
        sink = Sink()
        with pytest.raises(FetchFailed) as failed:
            public_tls(server, trap).fetch(f"https://media.test:{server.port}/go", sink, 10**6)
    assert str(failed.value) == message
    assert trap.hits == 0 and not sink.data


def _chain(hops: int) -> dict[str, Callable[..., None]]:
    routes = {f"/r{i}": redirect(f"/r{i + 1}", 301 if i % 2 else 302) for i in range(hops)}
    routes[f"/r{hops}"] = body(IMAGE, "image/png")
    return routes


def test_five_redirects_are_followed() -> None:
    with scripted_server(_chain(5)) as server:
        sink = Sink()
        result = Fetcher(allow_private=True).fetch(server.url("/r0"), sink, 10**6)
    assert bytes(sink.data) == IMAGE and result.final_url == server.url("/r5")


def test_six_redirects_are_too_many() -> None:
    with scripted_server(_chain(6)) as server:
        with pytest.raises(FetchFailed, match=r"^too many redirects \(more than 5\)$") as failed:
            Fetcher(allow_private=True).fetch(server.url("/r0"), Sink(), 10**6)
        assert failed.value.reason == "redirects"
        assert len(server.requests) == 6


def test_redirect_without_location_fails() -> None:
    with scripted_server({"/a": status(302)}) as server, \
            pytest.raises(FetchFailed, match=r"^server answered 302 without a location$"):
        Fetcher(allow_private=True).fetch(server.url("/a"), Sink(), 10**6)


# --- size limits ----------------------------------------------------------------------------

def test_declared_length_over_the_limit_fails_before_reading() -> None:
    with scripted_server({"/big": lying_length(declared=50 * 10**6 + 1, actual=10)}) as server:
        sink = Sink()
        with pytest.raises(FetchFailed, match=r"^download larger than 50 MB$") as failed:
            Fetcher(allow_private=True).fetch(server.url("/big"), sink, 50 * 10**6)
    assert failed.value.reason == "too_large" and not sink.data


def test_short_declared_length_cannot_smuggle_more_bytes() -> None:
    with scripted_server({"/lie": lying_length(declared=500, actual=50_000)}) as server:
        sink = Sink()
        result = Fetcher(allow_private=True).fetch(server.url("/lie"), sink, 1000)
    assert result.size == len(sink.data) == 500


def test_long_declared_length_then_hang_up_fails() -> None:
    with scripted_server({"/cut": lying_length(declared=1000, actual=10)}) as server, \
            pytest.raises(FetchFailed, match="was interrupted"):
        Fetcher(allow_private=True).fetch(server.url("/cut"), Sink(), 10**6)


@pytest.mark.parametrize("route", [endless(), endless_chunked()], ids=["close", "chunked"])
def test_endless_body_stops_at_the_limit(route: Callable[..., None]) -> None:
    with scripted_server({"/inf": route}) as server:
        sink = Sink()
        with pytest.raises(FetchFailed, match=r"^download larger than 2 MB$"):
            Fetcher(allow_private=True).fetch(server.url("/inf"), sink, 2 * 10**6)
    assert len(sink.data) <= 2 * 10**6


def test_custom_size_label() -> None:
    with scripted_server({"/inf": endless()}) as server, \
            pytest.raises(FetchFailed, match=r"^download larger than 1 kB$"):
        Fetcher(allow_private=True).fetch(server.url("/inf"), Sink(), 1000)
    with scripted_server({"/inf": endless()}) as server, \
            pytest.raises(FetchFailed, match=r"^download larger than the image limit$"):
        Fetcher(allow_private=True).fetch(server.url("/inf"), Sink(), 1000,
                                          max_bytes_label="the image limit")


# --- time limits and failures ---------------------------------------------------------------

def test_dripping_server_is_stopped_by_the_total_limit() -> None:
    with scripted_server({"/slow": drip(0.05)}) as server:
        fetcher = Fetcher(allow_private=True, read_timeout=5, total_timeout=1)
        start = time.monotonic()
        with pytest.raises(FetchFailed, match=r"^timed out after 1 s$") as failed:
            fetcher.fetch(server.url("/slow"), Sink(), 10**7)
        assert time.monotonic() - start < 4  # generous: the machine is shared
    assert failed.value.reason == "timeout"


def test_silent_server_hits_the_read_limit() -> None:
    with scripted_server({"/mute": stall_headers(3)}) as server:
        fetcher = Fetcher(allow_private=True, read_timeout=0.3)
        with pytest.raises(FetchFailed, match=r"^timed out after 0.3 s waiting for data$"):
            fetcher.fetch(server.url("/mute"), Sink(), 10**6)


def test_slow_lookup_hits_the_connect_limit() -> None:
    def slow(host: str, port: int) -> list[str]:
        time.sleep(2)
        return [PUBLIC]

    fetcher = Fetcher(allow_private=True, connect_timeout=0.2, resolver=slow)
    with pytest.raises(FetchFailed, match=r"^timed out after 0.2 s looking up slow.test$"):
        fetcher.fetch("http://slow.test/a.png", Sink(), 10**6)


@pytest.mark.parametrize("code", [404, 403, 500])
def test_error_status_fails_with_the_status(code: int) -> None:
    with scripted_server({"/x": status(code)}) as server:
        sink = Sink()
        with pytest.raises(FetchFailed, match=rf"^server answered {code}$") as failed:
            Fetcher(allow_private=True).fetch(server.url("/x"), sink, 10**6)
    assert failed.value.reason == "http_status" and not sink.data


def test_unreachable_and_unresolvable_hosts() -> None:
    with canary() as c:
        port = c.port  # free it, so nothing listens there
    fetcher = Fetcher(allow_private=True, resolver=resolver_for({"gone.test": ["127.0.0.1"]}))
    with pytest.raises(FetchFailed, match=r"^could not connect to gone.test$"):
        fetcher.fetch(f"http://gone.test:{port}/a", Sink(), 10**6)
    with pytest.raises(FetchFailed, match=r"^could not resolve nowhere.test$"):
        fetcher.fetch("http://nowhere.test/a", Sink(), 10**6)


def test_failure_is_logged_without_the_address(caplog: pytest.LogCaptureFixture) -> None:
    fetcher = Fetcher(resolver=resolver_for({"evil.test": ["10.9.8.7"]}))
    with caplog.at_level(logging.INFO, logger="mediashelf.urlfetch"), \
            pytest.raises(FetchFailed) as failed:
        fetcher.fetch("https://evil.test/a.png", Sink(), 10**6)
    [record] = [r for r in caplog.records if r.getMessage() == "url.failed"]
    assert (record.reason, record.host) == ("private_address", "evil.test")
    assert "10.9.8.7" not in str(failed.value)
    assert all("10.9.8.7" not in str(v) for v in record.__dict__.values())


def test_size_limits_read_as_written() -> None:
    assert [format_size(n) for n in (50 * 10**6, 2 * 10**9, 200 * 10**6, 1500)] == \
        ["50 MB", "2 GB", "200 MB", "1.5 kB"]


def test_honest_import_from_an_ipv6_literal_in_private_mode() -> None:
    with scripted_server({"/v.webm": body(VIDEO, "video/webm")}, host="::1") as server:
        sink = Sink()
        result = Fetcher(allow_private=True).fetch(server.url("/v.webm"), sink, 10**6)
    assert bytes(sink.data) == VIDEO
    assert result.final_url == f"http://[::1]:{server.port}/v.webm"


def test_redirect_to_another_port_reuses_the_first_lookup() -> None:
    with scripted_server({"/b.png": body(IMAGE, "image/png")}, host=PUBLIC) as target, \
            scripted_server({"/a": redirect(f"http://two.test:{target.port}/b.png")},
                            host=PUBLIC) as first:
        calls: list[str] = []

        def once(host: str, port: int) -> list[str]:
            calls.append(host)
            return [PUBLIC] if len(calls) == 1 else ["127.0.0.1"]

        sink = Sink()
        Fetcher(allow_private=True, resolver=once).fetch(
            f"http://two.test:{first.port}/a", sink, 10**6)
    assert calls == ["two.test"] and bytes(sink.data) == IMAGE
