"""The /v1/assets routes' inputs, parsed once: a ListQuery from the query string, an asset id."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TypeVar

from starlette.datastructures import QueryParams

from mediashelf.digits import ascii_int
from mediashelf.domain import AssetStatus, AssetType, ListQuery, Scope
from mediashelf.errors import BadRequest, NotFound, shown

E = TypeVar("E")
_TYPES = {t.value: t for t in AssetType}
_STATUSES = {s.value: s for s in AssetStatus}


def list_query(params: QueryParams) -> ListQuery:
    """The listing the query string asks for, or BadRequest naming the parameter and the
    values it allows; unknown parameters are ignored."""
    types = _enum_values(params, "type", _TYPES)
    statuses = _enum_values(params, "status", _STATUSES)
    scope = params.get("scope")
    if scope not in (None, "", "mine", "system"):
        raise BadRequest(f"invalid value '{shown(scope)}' for parameter 'scope': allowed "
                         "values are mine, system")
    return ListQuery(types=types, statuses=statuses, scope=Scope(scope) if scope else None,
                     page=_int_param(params, "page", 1, 1, None),
                     page_size=_int_param(params, "pageSize", 20, 1, 100))


def asset_id(raw: str) -> uuid.UUID:
    """An asset id from the path; anything that is no UUID names no asset."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("asset not found") from None


def _enum_values(params: QueryParams, name: str, allowed: Mapping[str, E]) -> tuple[E, ...]:
    """Repeated or comma-separated values (`type=IMAGE,VIDEO`, `type=IMAGE&type=VIDEO`)."""
    chosen: list[E] = []
    for raw in params.getlist(name):
        for item in raw.split(","):
            value = allowed.get(item.strip())
            if value is None:
                raise BadRequest(f"invalid value '{shown(item)}' for parameter '{name}': allowed "
                                 f"values are {', '.join(allowed)}")
            chosen.append(value)
    return tuple(chosen)


def _int_param(params: QueryParams, name: str, default: int, low: int,
               high: int | None) -> int:
    values = params.getlist(name)
    if not values:
        return default
    bounds = f"from {low} to {high}" if high else f"{low} or more"
    if len(values) > 1:
        raise BadRequest(f"parameter '{name}' given more than once; allowed values are "
                         f"integers {bounds}")
    raw = values[0].strip()
    number = ascii_int(raw)
    if number is None or number < low or (high is not None and number > high):
        raise BadRequest(f"invalid value '{shown(values[0])}' for parameter '{name}': allowed "
                         f"values are integers {bounds}")
    return number
