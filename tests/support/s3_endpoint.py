"""moto's S3 server, plus the one check it leaves out: presigned URLs' signature and expiry.

Real S3 refuses a presigned GET whose signature does not match (a forged key, a changed
response-content-type) or whose lifetime is over; moto serves it anyway. This wrapper verifies
SigV4 query-string signatures (secret "testing", as the tests use) before moto sees the request,
so the same tests hold on S3 as on the local backend. Run: python s3_endpoint.py -H HOST -p PORT.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from moto.moto_server.threaded_moto_server import MotoRequestHandler  # type: ignore[attr-defined]
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

SECRET = "testing"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def check_presigned(environ: dict[str, Any]) -> str | None:
    """None when the request is not presigned or its signature holds; else the S3 error code."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    path, _, query = raw.partition("?")
    pairs = [(k, v) for k, _, v in (p.partition("=") for p in query.split("&") if p)]
    params = {k: unquote(v) for k, v in pairs}
    if "X-Amz-Signature" not in params or environ.get("HTTP_AUTHORIZATION"):
        return None
    try:
        stamp = params["X-Amz-Date"]
        signed_at = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        lifetime = int(params["X-Amz-Expires"])
        scope = params["X-Amz-Credential"].split("/", 1)[1]
        date, region, service, _ = scope.split("/")
        names = params["X-Amz-SignedHeaders"].split(";")
    except (KeyError, ValueError, IndexError):
        return "AuthorizationQueryParametersError"
    if dt.datetime.now(dt.UTC) > signed_at + dt.timedelta(seconds=lifetime):
        return "AccessDenied"
    headers = "".join(f"{n}:{environ.get('HTTP_' + n.upper().replace('-', '_'), '').strip()}\n"
                      for n in names)
    canonical = "\n".join([
        environ["REQUEST_METHOD"], path,
        "&".join(f"{k}={v}" for k, v in sorted(pairs) if k != "X-Amz-Signature"),
        headers, ";".join(names), "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{SECRET}".encode(), date), region), service),
                "aws4_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, params["X-Amz-Signature"]) \
        else "SignatureDoesNotMatch"


class VerifyPresigned:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        error = check_presigned(environ)
        if error is None:
            return self.app(environ, start_response)
        body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{error}</Code>"
                f"<Message>refused by the test endpoint</Message></Error>").encode()
        start_response("403 Forbidden", [("Content-Type", "application/xml"),
                                         ("Content-Length", str(len(body)))])
        return [body]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, VerifyPresigned(app), threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
