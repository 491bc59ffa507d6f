"""RateLimit-Policy and RateLimit on every authenticated answer, 429 past a budget.

The fields are those of draft-ietf-httpapi-ratelimit-headers as its revision 11 writes them
(docs/operations.md says more), Structured Field lists: `RateLimit-Policy: "reads";q=600;w=60`
and `RateLimit: "reads";r=599;t=60`. A request's usage is left in its ASGI scope by `admit` or
`refuse_wrong_key` (api/deps.py) and written into the reply's head here, whatever route or error
handler made the reply.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mediashelf.domain import ApiKey
from mediashelf.errors import TooManyRequests
from mediashelf.services.limits import Limits, Usage

USAGE = "mediashelf.usage"  # the scope entry
HEADERS = ("RateLimit-Policy", "RateLimit", "Retry-After")  # exposed to browsers too
_READS = frozenset({"GET", "HEAD"})


def limits_of(request: Request) -> Limits:
    found: Limits = request.app.state.limits
    return found


def client_address(request: Request) -> str | None:
    """The socket's peer, or the address a trusted proxy forwarded: uvicorn has already put it
    in the scope when the peer is in its --forwarded-allow-ips (FORWARDED_ALLOW_IPS)."""
    client = request.scope.get("client")
    return str(client[0]) if client else None


def check_address(request: Request, limits: Limits) -> None:
    """Refuse at once an address that has sent too many wrong keys."""
    if not limits.refusing:  # no address is over its budget: nothing to look up
        return
    usage = limits.blocked(client_address(request))
    if usage is not None:
        _refuse(request, usage)


async def refuse_wrong_key(request: Request, limits: Limits) -> None:
    """Count a wrong key against the client's address (after its delay); 429 past the budget.
    Returns when the caller should answer 401 as usual."""
    usage = await limits.failed(client_address(request))
    if usage is not None:
        request.scope[USAGE] = usage
        if usage.retry_after is not None:
            _refuse(request, usage)


async def admit(request: Request, limits: Limits, key: ApiKey) -> None:
    """Spend the request's budgets; 429 when one is spent."""
    usage = await limits.spend(key, request.method not in _READS)
    if usage is not None:
        request.scope[USAGE] = usage
        if usage.retry_after is not None:
            raise TooManyRequests(usage.message, retry_after=usage.retry_after)


def _refuse(request: Request, usage: Usage) -> None:
    request.scope[USAGE] = usage
    raise TooManyRequests(usage.message, retry_after=usage.retry_after or 1)


def policy_field(usage: Usage) -> bytes:
    return ", ".join(f'"{p.name}";q={p.rate.count};w={p.rate.window}'
                     for p in usage.policies).encode()


def limit_field(usage: Usage) -> bytes:
    return ", ".join(f'"{p.name}";r={left.remaining};t={left.reset}'
                     for p, left in zip(usage.policies, usage.left, strict=True)).encode()


class RateLimitHeaders:
    """ASGI middleware: a reply whose request spent a budget carries what is left of it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_usage(message: Message) -> None:
            if message["type"] == "http.response.start":
                usage: Usage | None = scope.get(USAGE)
                if usage is not None:
                    message["headers"] = [*message.get("headers", ()),
                                          (b"ratelimit-policy", policy_field(usage)),
                                          (b"ratelimit", limit_field(usage))]
            await send(message)

        await self.app(scope, receive, send_with_usage)


_FIELD_DOCS = {
    "RateLimit-Policy": "The budgets that apply to this request (draft-ietf-httpapi-ratelimit-"
                        "headers): `\"reads\";q=600;w=60` is 600 requests per 60 s. On every "
                        "authenticated answer when budgets are configured.",
    "RateLimit": "What is left of each budget: `\"reads\";r=598;t=41` is 598 more requests, "
                 "the window ends in 41 s.",
    "Retry-After": "Seconds to wait before trying again.",
}


def document(doc: dict[str, Any]) -> None:
    """Add 429 and its fields to every /v1 operation of the OpenAPI document (kept beside any
    429 the document already has)."""
    doc.setdefault("components", {})["headers"] = {
        name: {"description": text, "schema": {"type": "integer" if name == "Retry-After"
                                               else "string"}}
        for name, text in _FIELD_DOCS.items()}
    refs = {name: {"$ref": f"#/components/headers/{name}"} for name in _FIELD_DOCS}
    for path, operations in doc.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for operation in operations.values():
            refused = operation.setdefault("responses", {}).setdefault("429", {
                "description": "A request budget is spent, or too many wrong API keys came "
                               "from this address",
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}})
            refused.setdefault("headers", {}).update(refs)
