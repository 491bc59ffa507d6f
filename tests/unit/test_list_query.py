"""Parsing GET /v1/assets' query string: any string gives a ListQuery or a 400 naming the
parameter, and every spelling of one listing gives one ListQuery (the reply cache's key)."""

from __future__ import annotations

import contextlib
import uuid
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams
from tests.support.queries import Selection, selections, spellings

from mediashelf.api.params import list_query
from mediashelf.domain import SYSTEM_TENANT_ID, AssetStatus, AssetType, ListQuery, Scope, Sort
from mediashelf.errors import BadRequest

NAMES = ["type", "status", "scope", "page", "pageSize", "sort", "q", "tag"]
TOKENS = [*(t.value for t in AssetType), *(s.value for s in AssetStatus), "mine", "system",
          "", " ", ",", "1", "0", "020", "100", "101", "-1", "1e3", "image", "READY,", "٣",
          *(s.value for s in Sort), "x" * 65, "🎉", '"', "NEAR("]
values = st.one_of(st.sampled_from(TOKENS), st.text(max_size=12),
                   st.lists(st.sampled_from(TOKENS), max_size=4).map(",".join))


def parse(query: str) -> ListQuery:
    return list_query(QueryParams(query))


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(st.one_of(st.sampled_from(NAMES), st.text(max_size=6)),
                                values), max_size=8))
def test_any_query_string_is_a_list_query_or_a_400(pairs: list[tuple[str, str]]) -> None:
    try:
        query = parse(urlencode(pairs))
    except BadRequest as err:
        assert err.status == 400
        named = [n for n in ("type", "status", "scope", "page", "pageSize", "sort", "q", "tag",
                             "sha256")
                 if f"parameter '{n}'" in err.message]  # not a rejected value such as 'q'
        assert len(named) == 1, err.message  # names the one parameter at fault
        # free-form parameters: their refusals say what is wrong, not a list of values
        assert "allowed values are" in err.message or named[0] in ("q", "tag", "sha256")
        return
    assert 1 <= query.page_size <= 100 and query.page >= 1
    assert query.types and query.statuses
    assert list(query.types) == sorted(set(query.types), key=list(AssetType).index)
    assert list(query.statuses) == sorted(set(query.statuses), key=list(AssetStatus).index)


@settings(max_examples=100, deadline=None)
@given(raw=st.text(max_size=60))
def test_raw_strings_never_raise_anything_else(raw: str) -> None:
    with contextlib.suppress(BadRequest):
        parse(raw)


@settings(max_examples=150, deadline=None)
@given(selection=selections)
def test_every_spelling_of_one_listing_is_one_query(
        selection: Selection) -> None:
    types, statuses, scope, page, size, _ = selection
    parsed = {parse(s) for s in spellings(selection)}
    assert len(parsed) == 1
    query = parsed.pop()
    assert set(query.types) == ({AssetType(t) for t in types} or set(AssetType))
    assert set(query.statuses) == ({AssetStatus(s) for s in statuses} or {AssetStatus.READY})
    assert (query.scope, query.page, query.page_size) == (
        Scope(scope) if scope else None, page, size)
    assert query.offset == (page - 1) * size


@settings(max_examples=150, deadline=None)
@given(a=selections, b=selections)
def test_different_listings_are_different_queries(
        a: Selection, b: Selection) -> None:
    def meaning(sel: Selection) -> tuple[object, ...]:
        types, statuses, scope, page, size, _ = sel
        return (frozenset(types) or frozenset(t.value for t in AssetType),
                frozenset(statuses) or frozenset({"READY"}), scope, page, size)

    qa, qb = parse(spellings(a)[0]), parse(spellings(b)[0])
    assert (qa == qb) == (meaning(a) == meaning(b))
    assert (hash(qa) == hash(qb)) or qa != qb


@pytest.mark.parametrize(("one", "other"), [
    ("type=IMAGE,VIDEO", "type=VIDEO&type=IMAGE"),
    ("", "type=AUDIO,IMAGE,VIDEO&status=READY"),
    ("scope=", ""),
    ("pageSize=020&page=01", "pageSize=20"),
    ("status=FAILED,PROCESSING,FAILED", "status=PROCESSING&status=FAILED"),
])
def test_spellings_the_contract_treats_alike(one: str, other: str) -> None:
    assert parse(one) == parse(other)


def test_owners_and_versions_follow_the_scope() -> None:
    tenant = uuid.uuid4()
    both, mine, system = ListQuery(), ListQuery(scope=Scope.MINE), ListQuery(scope=Scope.SYSTEM)
    versions = (1, 2, 3, 4, 5, 6)  # the tenant's AUDIO, IMAGE, VIDEO, then the system's
    assert both.owners(tenant) == (tenant, SYSTEM_TENANT_ID) and both.versions(versions) == \
        versions
    assert mine.owners(tenant) == (tenant,) and mine.versions(versions) == (1, 2, 3)
    assert system.owners(tenant) == (SYSTEM_TENANT_ID,) and system.versions(versions) == (4, 5, 6)
    videos = ListQuery(types=(AssetType.VIDEO, AssetType.AUDIO))
    assert videos.versions(versions) == (1, 3, 4, 6)  # the listed types only, in their order
    assert ListQuery(types=(AssetType.IMAGE,), scope=Scope.MINE).versions(versions) == (2,)
