"""RateLimit-Policy and RateLimit on every authenticated answer, 429 past a budget.

The fields are those of draft-ietf-httpapi-ratelimit-headers as its revision 11 writes them
(docs/operations.md says more), Structured Field lists: `RateLimit-Policy: "reads";q=600;w=60`
and `RateLimit: "reads";r=599;t=60`. A request's usage is left in its ASGI scope by `admit` or
`refuse_wrong_key` (api/deps.py) and written into the reply's head by usage_headers, whatever
route or error handler made the reply (RequestMetrics, which already sees every reply's head, or
the error handler).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.types import Scope

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


class _Fields(NamedTuple):
    policy: tuple[bytes, bytes]  # RateLimit-Policy, whole
    limit: bytes  # RateLimit, a %-template of each budget's remaining and reset


_FIELDS: dict[tuple[Policy, ...], _Fields] = {}  # a few tuples of policies a process


def _fields(policies: tuple[Policy, ...]) -> _Fields:
    made = _FIELDS[policies] = _Fields(
        (b"ratelimit-policy", ", ".join(f'"{p.name}";q={p.rate.count};w={p.rate.window}'
                                        for p in policies).encode()),
        ", ".join(f'"{p.name.replace("%", "%%")}";r=%d;t=%d' for p in policies).encode())
    return made


def usage_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The fields for what the scope's request spent (taken out of the scope: written once).
    This runs on every request: one dict lookup and one formatting of the numbers."""
    usage: Usage | None = scope.pop(USAGE, None)
    if usage is None:
        return []
    fields = _FIELDS.get(usage.policies) or _fields(usage.policies)
    return [fields.policy, (b"ratelimit", fields.limit % usage.numbers)]


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
