"""The /v1/assets routes' inputs, parsed once: a ListQuery from the query string, an asset id."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import TypeVar

from starlette.datastructures import QueryParams

from mediashelf.digits import ascii_int
from mediashelf.domain import AssetStatus, AssetType, ListQuery, Scope, Sort
from mediashelf.errors import BadRequest, NotFound, shown
from mediashelf.words import TAGS_MAX, check_tag, query_words

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
MAX_DIGESTS = 100  # sha256 values in one listing
E = TypeVar("E")
_TYPES = {t.value: t for t in AssetType}
_STATUSES = {s.value: s for s in AssetStatus}
Q_MAX = 256


def list_query(params: QueryParams) -> ListQuery:
    """The listing the query string asks for, or BadRequest naming the parameter and the
    values it allows; unknown parameters are ignored."""
    types = _enum_values(params, "type", _TYPES)
    statuses = _enum_values(params, "status", _STATUSES)
    scope = params.get("scope")
    if scope not in (None, "", "mine", "system"):
        raise BadRequest(f"invalid value '{shown(scope)}' for parameter 'scope': allowed "
                         "values are mine, system")
    digests, q, tags, sort = _digests(params), _search(params), _tags(params), _sort(params)
    if digests and (q is not None or tags or sort is not Sort.NEWEST):
        raise BadRequest("parameter 'sha256' combines with type, status, scope and paging "
                         "only, not with q, tag or sort")
    return ListQuery(types=types, statuses=statuses, scope=Scope(scope) if scope else None,
                     sha256=digests, page=_int_param(params, "page", 1, 1, None),
                     page_size=_int_param(params, "pageSize", 20, 1, 100),
                     q=q, tags=tags, sort=sort)


def _search(params: QueryParams) -> tuple[str, ...] | None:
    """`q`: its words, each a prefix (an empty or blank q searches nothing: all assets)."""
    raw = _single(params, "q")
    if raw is None or not raw.strip():
        return None
    if len(raw) > Q_MAX:
        raise BadRequest(f"parameter 'q' must be at most {Q_MAX} characters")
    return query_words(raw)


def _tags(params: QueryParams) -> frozenset[str]:
    """`tag`, repeated or comma-separated: every one must be the asset's."""
    tags = frozenset(check_tag(item, "parameter 'tag'")
                     for raw in params.getlist("tag") for item in raw.split(",") if item.strip())
    if len(tags) > TAGS_MAX:
        raise BadRequest(f"parameter 'tag' names more than {TAGS_MAX} tags")
    return tags


def _sort(params: QueryParams) -> Sort:
    raw = _single(params, "sort", f"; allowed values are {', '.join(Sort)}")
    if raw is None or raw == "":
        return Sort.NEWEST
    try:
        return Sort(raw.strip())
    except ValueError:
        raise BadRequest(f"invalid value '{shown(raw)}' for parameter 'sort': allowed values "
                         f"are {', '.join(Sort)}") from None


def _single(params: QueryParams, name: str, allowed: str = "") -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"parameter '{name}' given more than once{allowed}")
    return values[0] if values else None


def page_params(params: QueryParams) -> tuple[int, int]:
    """`page` and `pageSize`, as the listing reads them."""
    return _int_param(params, "page", 1, 1, None), _int_param(params, "pageSize", 20, 1, 100)


def asset_id(raw: str) -> uuid.UUID:
    """An asset id from the path; anything that is no UUID names no asset."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("asset not found") from None


def _digests(params: QueryParams) -> tuple[str, ...]:
    """`sha256` values (repeated or comma-separated, up to MAX_DIGESTS), lowercased, sorted."""
    found: set[str] = set()
    for raw in params.getlist("sha256"):
        for item in raw.split(","):
            value = item.strip()
            if not _SHA256.fullmatch(value):
                raise BadRequest(f"invalid value '{shown(item)}' for parameter 'sha256': "
                                 "allowed values are SHA-256 digests, 64 hexadecimal digits")
            found.add(value.lower())
    if len(found) > MAX_DIGESTS:
        raise BadRequest(f"parameter 'sha256' takes at most {MAX_DIGESTS} digests at once")
    return tuple(sorted(found))


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
    bounds = f"from {low} to {high}" if high else f"{low} or more, in at most 18 digits"
    if len(values) > 1:
        raise BadRequest(f"parameter '{name}' given more than once; allowed values are "
                         f"integers {bounds}")
    raw = values[0].strip()
    number = ascii_int(raw)
    if number is None or number < low or (high is not None and number > high):
        raise BadRequest(f"invalid value '{shown(values[0])}' for parameter '{name}': allowed "
                         f"values are integers {bounds}")
    return number
