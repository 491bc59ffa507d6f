"""The Idempotency-Key header around a creating route: claim the key, run the route, keep its
answer (or replay the first one). Routes call `idempotent(request, tenant_id, handle)`; `handle`
gets a Gate and calls `gate.check(fingerprint)` once it knows what the request is (after its
body is read), and `await gate.keep_alive()` now and then while a long body streams in."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mediashelf.errors import MediashelfError
from mediashelf.services.idempotency import (
    Answer,
    Claim,
    IdempotencyService,
    Replayed,
    parse_key,
)

log = logging.getLogger("mediashelf.api")

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
# repeated with a replayed answer (names as Starlette lists them: lower case)
KEPT_HEADERS = ("content-type", "location", "x-duplicate-of", "x-asset-id", "upload-offset",
                "upload-expires", "tus-resumable")
_JSON = "application/json"
KEY_PARAMETER = {  # the header in the OpenAPI document
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Makes a retried POST safe (draft-ietf-httpapi-idempotency-key-header): "
                   "the same key with the same request, from this tenant within 24 h, answers "
                   "the first answer again (status and body, with `Idempotent-Replayed: true`). "
                   "Up to 255 printable ASCII characters, bare or as a quoted string.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def fingerprint(*parts: object) -> str:
    """What identifies a request's content: a digest of its parts (strings, numbers, None)."""
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


class Gate:
    """A request's idempotency key, as its route sees it (a no-op without a key)."""

    def __init__(self, service: IdempotencyService | None = None,
                 claim: Claim | None = None) -> None:
        self._service, self._claim = service, claim

    @property
    def keyed(self) -> bool:
        """The request came with an Idempotency-Key (check() then matters)."""
        return self._claim is not None

    def check(self, print_: str) -> None:
        """Raises Replayed (the answer to send again) or Unprocessable (the key was used for
        another request); returns when the request is new."""
        if self._claim is not None:
            self._claim.check(print_)

    async def keep_alive(self) -> None:
        """Renew the key's lease when due: called for every chunk, it hops to a thread (and
        the database) only once a third of the lease has passed."""
        if self._service is not None and self._claim is not None \
                and self._service.renewal_due(self._claim):
            await run_in_threadpool(self._service.keep_alive, self._claim)


async def idempotent(request: Request, tenant_id: uuid.UUID,
                     handle: Callable[[Gate], Awaitable[Response]]) -> Response:
    """handle(gate)'s response, kept under the request's Idempotency-Key if it has one."""
    key = parse_key(request.headers.get(HEADER))
    if key is None:
        return await handle(Gate())
    service: IdempotencyService = request.app.state.idempotency
    claim = await run_in_threadpool(service.begin, tenant_id, key)
    try:
        response = await handle(Gate(service, claim))
    except Replayed as replay:
        return _replay(replay.answer)
    except MediashelfError as exc:
        body = json.dumps({"code": exc.status, "message": exc.message}, ensure_ascii=False,
                          separators=(",", ":"))  # as the error handler writes it
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()
                   if k.lower() in KEPT_HEADERS}
        await _settle(service, claim, Answer(exc.status, body,
                                             {**headers, "content-type": _JSON}))
        raise
    except BaseException:
        await _settle(service, claim, None)
        raise
    kept = {k: v for k, v in response.headers.items() if k in KEPT_HEADERS}
    await _settle(service, claim, Answer(response.status_code, bytes(response.body).decode(),
                                         kept))
    return response


async def _settle(service: IdempotencyService, claim: Claim, answer: Answer | None) -> None:
    with anyio.CancelScope(shield=True):  # a client gone mid-request must not hold the key
        try:
            await run_in_threadpool(service.settle, claim, answer)
        except Exception:  # the answer stands; the key frees itself when its lease ends
            log.warning("idempotency.settle_failed", exc_info=True)


def _replay(answer: Answer) -> Response:
    """The first answer again: its status, body bytes and content type (none for an empty
    body, as tus's 201). Answers kept before content types were kept were all JSON."""
    headers = {k.lower(): v for k, v in answer.headers.items()}
    if answer.body and "content-type" not in headers:
        headers["content-type"] = _JSON
    return Response(answer.body.encode(), status_code=answer.status,
                    headers={**headers, REPLAYED: "true"})
