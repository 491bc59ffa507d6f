"""Presigned S3 GET URLs made here, the same bytes botocore's presigner makes for the same time.

boto3's generate_presigned_url costs about half a millisecond of CPU a URL (endpoint rules,
event hooks, URL parsing), and a listing signs two a row. SigV4 query signing itself is one
SHA-256 and one HMAC per URL once the day's signing key is derived (AWS's "Authenticating
Requests: Using Query Parameters"). What depends on botocore's configuration (the endpoint,
path or virtual-host addressing, the signing region) is read once from a URL botocore presigns
for a probe key; the rest follows the algorithm, and tests/unit/test_s3_presign.py holds the
result equal to botocore's, byte for byte.

URLs are signed at the start of their window (the hour, as the links' expiry counts): every API
process gives the same URL for an object in the same hour, so browsers and proxies can reuse
what they fetched.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

if TYPE_CHECKING:
    from botocore.credentials import Credentials

WINDOW_S = 3600  # URLs made within the same hour are the same URL
MAX_PRESIGN_S = 7 * 86400  # SigV4 presigned URLs cannot live longer than a week
_SAFE = "-_.~"  # what SigV4 leaves unescaped in a query value (botocore's SAFE_CHARS)


def _host(url: str) -> str:
    """The Host header botocore signs: lower case, without a default port or user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.digest(key, msg.encode(), "sha256")


class Presigner:
    """GET URLs for one bucket's keys, signed with the credentials' key for the day."""

    def __init__(self, client: Any, bucket: str, credentials: Credentials) -> None:
        probe = client.generate_presigned_url("get_object", ExpiresIn=60,
                                              Params={"Bucket": bucket, "Key": "probe"})
        parts = urlsplit(probe)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if not parts.path.endswith("/probe") or query.get("X-Amz-Algorithm") != \
                "AWS4-HMAC-SHA256" or query.get("X-Amz-SignedHeaders") != "host":
            raise ValueError("this client does not presign with SigV4 query parameters")
        _access, _date, region, service, _end = query["X-Amz-Credential"].split("/")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._path = parts.path[:-len("probe")]  # "/bucket/" or "/" (virtual-host addressing)
        self._host = _host(probe)
        self._region, self._service = region, service
        self._credentials = credentials
        self._keys: dict[tuple[str, str], bytes] = {}  # (secret, day) -> signing key

    def _signing_key(self, secret: str, day: str) -> bytes:
        key = self._keys.get((secret, day))
        if key is None:
            key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), day), self._region),
                              self._service), "aws4_request")
            if len(self._keys) > 8:  # a new day or new credentials: yesterday's are done
                self._keys.clear()
            self._keys[(secret, day)] = key
        return key

    def url(self, key: str, *, content_type: str, disposition: str, expires_at: int,
            now: float | None = None) -> str:
        """A GET of `key` answering with that type and disposition, valid until expires_at
        (at most a week after the start of the current window)."""
        signed_at = int(time.time() if now is None else now) // WINDOW_S * WINDOW_S
        return self.url_at(key, content_type=content_type, disposition=disposition,
                           signed_at=signed_at,
                           expires_in=max(1, min(MAX_PRESIGN_S, expires_at - signed_at)))

    def url_at(self, key: str, *, content_type: str, disposition: str, signed_at: int,
               expires_in: int) -> str:
        """The URL botocore would presign at `signed_at` (unix s) for `expires_in` seconds."""
        creds = self._credentials.get_frozen_credentials()
        t = time.gmtime(signed_at)
        day = f"{t.tm_year:04d}{t.tm_mon:02d}{t.tm_mday:02d}"
        stamp = f"{day}T{t.tm_hour:02d}{t.tm_min:02d}{t.tm_sec:02d}Z"
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        path = self._path + quote(key, safe="/~")
        # botocore's order: the operation's parameters, then the signature's
        params = [("response-content-type", quote(content_type, safe=_SAFE)),
                  ("response-content-disposition", quote(disposition, safe=_SAFE)),
                  ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                  ("X-Amz-Credential", quote(f"{creds.access_key or ''}/{scope}", safe=_SAFE)),
                  ("X-Amz-Date", stamp),
                  ("X-Amz-Expires", str(expires_in)),
                  ("X-Amz-SignedHeaders", "host")]
        if creds.token is not None:
            params.append(("X-Amz-Security-Token", quote(creds.token, safe=_SAFE)))
        query = "&".join(f"{k}={v}" for k, v in params)
        canonical = (f"GET\n{path}\n{'&'.join(f'{k}={v}' for k, v in sorted(params))}\n"
                     f"host:{self._host}\n\nhost\nUNSIGNED-PAYLOAD")
        to_sign = (f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n"
                   f"{hashlib.sha256(canonical.encode()).hexdigest()}")
        signature = hmac.new(self._signing_key(creds.secret_key or "", day), to_sign.encode(),
                             hashlib.sha256).hexdigest()
        return f"{self._origin}{path}?{query}&X-Amz-Signature={signature}"
