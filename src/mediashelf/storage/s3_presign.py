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

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from mediashelf.security import keyed_sha256

if TYPE_CHECKING:
    from botocore.credentials import Credentials

WINDOW_S = 3600  # URLs made within the same hour are the same URL
MAX_PRESIGN_S = 7 * 86400  # SigV4 presigned URLs cannot live longer than a week
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.~/-]*")  # a key that quote() leaves as it is
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


_INLINE = 'inline; filename="'  # names.inline_disposition's, for a plain ASCII name
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.~ -]*")  # what quote() leaves, but " " -> "%20"


def _quoted(value: str) -> str:
    """A response parameter escaped. A file's disposition with a plain name (most: a listing
    has one a row, each different) is escaped by hand, for a tenth of quote()'s cost."""
    if (len(value) > len(_INLINE) and value.startswith(_INLINE) and value.endswith('"')
            and _PLAIN_NAME.fullmatch(value, len(_INLINE), len(value) - 1)):
        return "inline%3B%20filename%3D%22" + value[len(_INLINE):-1].replace(" ", "%20") + "%22"
    return _quoted_again(value)


@functools.lru_cache(maxsize=1024)
def _quoted_again(value: str) -> str:
    """quote() of the values that repeat: types, and thumbnails' dispositions."""
    return quote(value, safe=_SAFE)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.digest(key, msg.encode(), "sha256")


@dataclass(frozen=True, slots=True)
class _Window:
    """What every URL signed at one time, for one lifetime, with one set of credentials shares."""

    query: str  # the signature's parameters, in botocore's order
    canonical: str  # the same, sorted: before the response-* ones (upper case sorts first)
    to_sign: str  # the string to sign, up to the canonical request's hash
    keyed: Any  # HMAC-SHA256 with the day's signing key, its padded key blocks hashed


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
        self._last: tuple[Hashable, _Window] | None = None  # URLs come by the hour's batch

    def _window(self, access: str, secret: str, token: str | None, signed_at: int,
                expires_in: int) -> _Window:
        at = (access, secret, token, signed_at, expires_in)
        last = self._last
        if last is not None and last[0] == at:
            return last[1]
        t = time.gmtime(signed_at)
        day = f"{t.tm_year:04d}{t.tm_mon:02d}{t.tm_mday:02d}"
        stamp = f"{day}T{t.tm_hour:02d}{t.tm_min:02d}{t.tm_sec:02d}Z"
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        params = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                  ("X-Amz-Credential", quote(f"{access}/{scope}", safe=_SAFE)),
                  ("X-Amz-Date", stamp),
                  ("X-Amz-Expires", str(expires_in)),
                  ("X-Amz-SignedHeaders", "host")]
        if token is not None:
            params.append(("X-Amz-Security-Token", quote(token, safe=_SAFE)))
        key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), day), self._region),
                          self._service), "aws4_request")
        window = _Window("&".join(f"{k}={v}" for k, v in params),
                         "&".join(f"{k}={v}" for k, v in sorted(params)),
                         f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n",
                         keyed_sha256(key))
        self._last = (at, window)
        return window

    def url(self, key: str, *, content_type: str, disposition: str, expires_at: int,
            now: float | None = None) -> str:
        """A GET of `key` answering with that type and disposition, valid until expires_at
        (at most a week after the start of the current window)."""
        return self.signer(expires_at, now)(key, content_type, disposition)

    def signer(self, expires_at: int, now: float | None = None) -> Callable[[str, str, str], str]:
        """url() as a function of (key, content_type, disposition), for many keys at once:
        the window, its credentials and signing key are looked up once."""
        signed_at = int(time.time() if now is None else now) // WINDOW_S * WINDOW_S
        return self._signer_at(signed_at, max(1, min(MAX_PRESIGN_S, expires_at - signed_at)))

    def url_at(self, key: str, *, content_type: str, disposition: str, signed_at: int,
               expires_in: int) -> str:
        """The URL botocore would presign at `signed_at` (unix s) for `expires_in` seconds."""
        return self._signer_at(signed_at, expires_in)(key, content_type, disposition)

    def _signer_at(self, signed_at: int, expires_in: int) -> Callable[[str, str, str], str]:
        creds = self._credentials.get_frozen_credentials()
        w = self._window(creds.access_key or "", creds.secret_key or "", creds.token,
                         signed_at, expires_in)
        root, origin, host = self._path, self._origin, self._host
        canonical_query, to_sign, query, keyed = w.canonical, w.to_sign, w.query, w.keyed

        def signed(key: str, content_type: str, disposition: str) -> str:
            path = root + (key if _PLAIN_KEY.fullmatch(key) else quote(key, safe="/~"))
            ctype, disp = _quoted(content_type), _quoted(disposition)
            canonical = (f"GET\n{path}\n{canonical_query}&response-content-disposition={disp}"
                         f"&response-content-type={ctype}\nhost:{host}\n\nhost\n"
                         "UNSIGNED-PAYLOAD")
            mac = keyed.copy()
            mac.update((to_sign + hashlib.sha256(canonical.encode()).hexdigest()).encode())
            # botocore's order: the operation's parameters, then the signature's
            return (f"{origin}{path}?response-content-type={ctype}"
                    f"&response-content-disposition={disp}&{query}"
                    f"&X-Amz-Signature={mac.hexdigest()}")

        return signed
