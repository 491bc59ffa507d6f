"""RateLimit-Policy and RateLimit on every authenticated answer, 429 past a budget.

The fields are those of draft-ietf-httpapi-ratelimit-headers as its revision 11 writes them
(docs/operations.md says more), Structured Field lists: `RateLimit-Policy: "reads";q=600;w=60`
and `RateLimit: "reads";r=599;t=60`. A request's usage is left in its ASGI scope by `admit` or
`refuse_wrong_key` (api/deps.py) and written into the reply's head here, whatever route or error
handler made the reply.
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mediashelf.errors import TooManyRequests
from mediashelf.services.limits import Limits, Policy, Usage

USAGE = "mediashelf.usage"  # the scope entry
HEADERS = ("RateLimit-Policy", "RateLimit", "Retry-After")  # exposed to browsers too
READS = frozenset({"GET", "HEAD"})


def client_address(request: Request) -> str | None:
    """The socket's peer, or the address a trusted proxy forwarded: uvicorn has already put it
    in the scope when the peer is in its --forwarded-allow-ips (FORWARDED_ALLOW_IPS)."""
    client = request.scope.get("client")
    return str(client[0]) if client else None


def check_address(request: Request, limits: Limits) -> None:
    """Refuse at once an address that has sent too many wrong keys."""
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


def admit(request: Request, usage: Usage) -> None:
    """Note what the request spent of its budgets (Limits.spend); 429 when one is spent."""
    if usage.policies:
        request.scope[USAGE] = usage
        if usage.retry_after is not None:
            raise TooManyRequests(usage.message, retry_after=usage.retry_after)


def _refuse(request: Request, usage: Usage) -> None:
    request.scope[USAGE] = usage
    raise TooManyRequests(usage.message, retry_after=usage.retry_after or 1)


@functools.lru_cache(maxsize=64)  # a few tuples of policies, made once per process
def policy_field(policies: tuple[Policy, ...]) -> bytes:
    return ", ".join(f'"{p.name}";q={p.rate.count};w={p.rate.window}'
                     for p in policies).encode()


@functools.lru_cache(maxsize=64)
def _limit_names(policies: tuple[Policy, ...]) -> tuple[str, ...]:
    return tuple(f'"{p.name}";r=' for p in policies)


def limit_field(usage: Usage) -> bytes:
    names = _limit_names(usage.policies)
    if len(names) == 1:  # the usual shapes, written out: this runs on every request
        return f"{names[0]}{usage.left[0].remaining};t={usage.left[0].reset}".encode()
    return ", ".join([f"{name}{left.remaining};t={left.reset}"
                      for name, left in zip(names, usage.left, strict=True)]).encode()


def usage_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The fields for what the scope's request spent (taken out of the scope: written once)."""
    usage: Usage | None = scope.pop(USAGE, None)
    if usage is None:
        return []
    return [(b"ratelimit-policy", policy_field(usage.policies)),
            (b"ratelimit", limit_field(usage))]


class RateLimitHeaders:
    """ASGI middleware, when budgets are set: a reply whose request spent a budget carries what
    is left of it. (Without budgets only wrong keys are counted, and the error handler writes
    their fields: no request pays for this layer.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_usage(message: Message) -> None:
            if message["type"] == "http.response.start" and USAGE in scope:
                message["headers"] = [*message.get("headers", ()), *usage_headers(scope)]
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
