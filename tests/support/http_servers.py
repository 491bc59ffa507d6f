"""Real loopback servers for URL-import tests: a scripted HTTP(S) server, a canary, a test CA."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class Canary:
    """A loopback listener that counts every TCP connection it accepts, and answers none."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(64)
        self.port: int = self._sock.getsockname()[1]
        self.hits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._thread.join()
        self._sock.close()


@contextmanager
def canary(host: str = "127.0.0.1", port: int = 0) -> Iterator[Canary]:
    c = Canary(host, port)
    try:
        yield c
    finally:
        c.close()


Route = Callable[["Request"], None]


class Request(BaseHTTPRequestHandler):
    """One request to a ScriptedServer; routes write raw HTTP with the helpers below."""

    server: TlsHttpServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        self.server.owner.requests.append((path, dict(self.headers.items())))
        route = self.server.owner.routes.get(path)
        if route is None:
            self.send_raw(404, b"not here")
        else:
            route(self)
        self.close_connection = True

    def send_head(self, status: int, headers: dict[str, str]) -> None:
        lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
        self.wfile.write(("\r\n".join([*lines, "Connection: close", "", ""])).encode())

    def send_raw(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_head(status, {"Content-Length": str(len(body)), **(headers or {})})
        self.wfile.write(body)

    @property
    def stopping(self) -> bool:
        return self.server.owner.stopping.is_set()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TlsHttpServer(ThreadingHTTPServer):
    """A threaded HTTP server that speaks TLS when its owner has an ssl_context; a client that
    hangs up or fails the handshake is not an error (several tests are about exactly that)."""

    daemon_threads = True
    owner: Any  # anything with an `ssl_context` (None: plain HTTP)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.owner.ssl_context is None:
            super().finish_request(request, client_address)
            return
        try:
            tls = self.owner.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early are the point of several tests


class _Server6(TlsHttpServer):
    address_family = socket.AF_INET6


class ScriptedServer:
    """A threaded HTTP(S) server on a loopback address whose paths run small route functions."""

    def __init__(self, routes: dict[str, Route], host: str = "127.0.0.1",
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.routes = dict(routes)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.ssl_context = ssl_context
        self.stopping = threading.Event()
        self.host = host
        self._httpd = (_Server6 if ":" in host else TlsHttpServer)((host, 0), Request)
        self._httpd.owner = self
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str = "/", host: str | None = None) -> str:
        scheme = "https" if self.ssl_context else "http"
        host = host or self.host
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}{path}"

    def close(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


@contextmanager
def scripted_server(routes: dict[str, Route], host: str = "127.0.0.1",
                    ssl_context: ssl.SSLContext | None = None) -> Iterator[ScriptedServer]:
    server = ScriptedServer(routes, host, ssl_context)
    try:
        yield server
    finally:
        server.close()


# Route makers.

def body(data: bytes, content_type: str = "application/octet-stream",
         headers: dict[str, str] | None = None) -> Route:
    def route(req: Request) -> None:
        req.send_raw(200, data, {"Content-Type": content_type, **(headers or {})})
    return route


def status(code: int) -> Route:
    return lambda req: req.send_raw(code, f"status {code}".encode())


def redirect(location: str, code: int = 302) -> Route:
    return lambda req: req.send_raw(code, b"", {"Location": location})


def drip(byte_every: float, declared: int = 10**6) -> Route:
    """Sends one byte every byte_every seconds, forever (a slow loris for the time limit)."""
    def route(req: Request) -> None:
        req.send_head(200, {"Content-Length": str(declared)})
        while not req.stopping:
            req.wfile.write(b"x")
            req.wfile.flush()
            time.sleep(byte_every)
    return route


def endless(chunk: int = 64 * 1024) -> Route:
    """A close-delimited body that never ends (no Content-Length)."""
    def route(req: Request) -> None:
        req.send_head(200, {"Content-Type": "image/png"})
        data = b"\0" * chunk
        while not req.stopping:
            req.wfile.write(data)
    return route


def endless_chunked(chunk: int = 64 * 1024) -> Route:
    """A chunked body that never ends."""
    def route(req: Request) -> None:
        req.send_head(200, {"Transfer-Encoding": "chunked"})
        frame = f"{chunk:x}\r\n".encode() + b"\0" * chunk + b"\r\n"
        while not req.stopping:
            req.wfile.write(frame)
    return route


def lying_length(declared: int, actual: int) -> Route:
    """Declares one Content-Length and sends another number of bytes."""
    def route(req: Request) -> None:
        req.send_head(200, {"Content-Length": str(declared)})
        req.wfile.write(b"y" * actual)
    return route


def stall_headers(seconds: float) -> Route:
    """Accepts the request and says nothing for a while."""
    def route(req: Request) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not req.stopping:
            time.sleep(0.02)
    return route


@dataclass
class LocalCA:
    """A certificate authority made at test time, and what it takes to trust it."""

    ca_pem: bytes
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca_pem.decode())

    def server_context(self, *names: str, tmp_dir: Any) -> ssl.SSLContext:
        """A server context presenting a leaf certificate for names, signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        leaf = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
                .issuer_name(self.cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                               critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.key.public_key()), critical=False)
                .sign(self.key, hashes.SHA256()))
        cert_file, key_file = tmp_dir / f"{names[0]}.pem", tmp_dir / f"{names[0]}.key"
        cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_file, key_file)
        return ctx


def make_test_ca() -> LocalCA:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mediashelf test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return LocalCA(cert.public_bytes(serialization.Encoding.PEM), key, cert)
