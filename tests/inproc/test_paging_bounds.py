"""Every paged list answers any page the parameters allow (1 to 18 digits): past the end it is
`[]` with the true totals, never a 500 (an offset past 2**63 - 1 fits no database integer)."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediashelf.domain import AssetStatus, AssetType, now_ms
from tests.support.inproc import Api
from tests.support.library import insert, make_asset, tenant_id_of


@pytest.fixture
def lists(api: Api, api_key: str, client: httpx.Client) -> list[tuple[str, int]]:
    """The paged routes, each with one row behind it: (path, total)."""
    tenant = tenant_id_of(api.services, api_key)
    kept, gone = (make_asset(tenant, AssetType.IMAGE, AssetStatus.READY, now_ms() - 5000, n)
                  for n in ("kept", "gone"))
    insert(api.services, [kept, gone])
    assert client.delete(f"/v1/assets/{gone.id}").status_code == 200
    hook = client.post("/v1/webhooks", json={"url": "https://hooks.example.com/x",
                                             "events": ["*"]}).json()
    assert client.post(f"/v1/webhooks/{hook['id']}/test").status_code == 202
    return [("/v1/assets?scope=mine", 1), ("/v1/trash", 1),
            (f"/v1/webhooks/{hook['id']}/deliveries", 1)]


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(page=st.integers(1, 10**18 - 1) | st.sampled_from([461168601842738792, 10**18 - 1]),
       size=st.integers(1, 100))
def test_any_page_is_an_answer(client: httpx.Client, lists: list[tuple[str, int]], page: int,
                               size: int) -> None:
    for path, total in lists:
        sep = "&" if "?" in path else "?"
        res = client.get(f"{path}{sep}page={page}&pageSize={size}")
        assert res.status_code == 200, (path, res.text)
        assert len(res.json()) == (total if page == 1 else 0)
        assert res.headers["X-Total-Count"] == str(total) and res.headers["X-Page"] == str(page)
