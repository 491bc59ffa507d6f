"""Idempotency-Key on POST /v1/assets: replay, 422 on another request, per tenant, hostile keys,
expiry and cleanup. (409 while the first request runs, across two API processes, is in
tests/acceptance/test_idempotency_processes.py: it needs a body that streams slowly.)"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediashelf.services.idempotency import Answer, Replayed
from tests.inproc.test_dedupe import fresh_png, originals, send
from tests.support.inproc import Api, InProcess
from tests.support.multipart import assert_error

REFUSED = {"name": "x", "type": "IMAGE", "url": "http://127.0.0.1/a.png"}  # a private address


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def upload(client: httpx.Client, path: Path, key: str, **fields: str) -> httpx.Response:
    with open(path, "rb") as fh:
        return client.post("/v1/assets", files={"file": (path.name, fh)}, data=fields,
                           headers=keyed(key))


def test_the_same_request_again_replays_the_first_answer(api: Api, client: httpx.Client,
                                                         tmp_path: Path) -> None:
    path = fresh_png(tmp_path)
    key = str(uuid.uuid4())
    first = upload(client, path, key, name="clip", dedupe="false")
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    before = originals(api)
    again = upload(client, path, key, name="clip", dedupe="false")
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content  # the first answer, byte for byte (PROCESSING)
    assert again.headers["location"] == first.headers["location"]
    assert originals(api) == before  # no second copy, although dedupe=false
    mine = {"status": "PROCESSING,READY", "scope": "mine"}
    assert client.get("/v1/assets", params=mine).headers["x-total-count"] == "1"
    # the key is the client's word for "this request": without it the same body is a new one
    assert send(client, path, name="clip", dedupe="false").status_code == 201


def test_a_key_reused_for_another_request_is_422(api: Api, client: httpx.Client,
                                                 tmp_path: Path) -> None:
    key = "order-42"
    path, other = fresh_png(tmp_path), fresh_png(tmp_path)
    assert upload(client, path, key).status_code == 201
    before = originals(api)
    for changed in (upload(client, other, key),  # other bytes
                    upload(client, path, key, name="renamed"),  # another field
                    client.post("/v1/assets", json=REFUSED, headers=keyed(key))):  # an import
        assert_error(changed, 422, "Idempotency-Key")
    assert originals(api) == before  # the refused bytes are not kept


def test_keys_are_per_tenant(api: Api, client: httpx.Client, tmp_path: Path) -> None:
    path = fresh_png(tmp_path)
    mine = upload(client, path, "shared-key")
    with api.client(api.new_key(f"t-{uuid.uuid4().hex[:10]}")) as other:
        theirs = upload(other, path, "shared-key")
        assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
        assert theirs.json()["id"] != mine.json()["id"]


def test_an_answered_client_error_is_replayed_and_a_duplicate_too(
        client: httpx.Client, tmp_path: Path) -> None:
    refused = client.post("/v1/assets", json=REFUSED, headers=keyed("imp-1"))
    assert_error(refused, 400, "https")
    replayed = client.post("/v1/assets", json=REFUSED, headers=keyed("imp-1"))
    assert replayed.status_code == 400 and replayed.content == refused.content
    assert replayed.headers["idempotent-replayed"] == "true"
    # a body that could not be read whole is not kept: the key stays free for a good one
    bad = client.post("/v1/assets", content=b'{"name": ', headers={
        **keyed("imp-2"), "content-type": "application/json"})
    assert_error(bad, 400)
    path = fresh_png(tmp_path)
    first = send(client, path)
    dup = upload(client, path, "imp-2")
    assert dup.status_code == 200 and dup.headers["x-duplicate-of"] == first.json()["id"]
    again = upload(client, path, "imp-2")
    assert again.status_code == 200 and again.headers["x-duplicate-of"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"


def test_hostile_keys_are_400(client: httpx.Client, tmp_path: Path) -> None:
    path = fresh_png(tmp_path)
    for bad in ("", "   ", "k" * 256, '"unclosed\\"', "tab\there", '""'):
        assert_error(upload(client, path, bad), 400, "Idempotency-Key")
    raw = client.post("/v1/assets", json=REFUSED, headers=[("Idempotency-Key", "é".encode())])
    assert_error(raw, 400, "Idempotency-Key")
    longest = upload(client, path, "k" * 255)
    assert longest.status_code == 201
    quoted = upload(client, path, '"' + "k" * 255 + '"')  # the sf-string form of the same key
    assert quoted.headers.get("idempotent-replayed") == "true"


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                   max_size=255).filter(lambda k: not (k.startswith('"') and k.endswith('"'))))
def test_any_printable_key_is_kept_and_replayed(client: httpx.Client, key: str) -> None:
    first = client.post("/v1/assets", json=REFUSED, headers=keyed(key))
    again = client.post("/v1/assets", json=REFUSED, headers=keyed(key))
    assert first.status_code == again.status_code == 400
    assert again.headers.get("idempotent-replayed") == "true", key


def test_keys_expire_and_are_cleaned_up(make_app: Callable[..., InProcess],
                                        tmp_path: Path) -> None:
    app = make_app(env={"MEDIASHELF_IDEMPOTENCY_TTL": "1s"})
    path = fresh_png(tmp_path)
    with app.client(app.new_key("expiry")) as client:
        first = upload(client, path, "short-lived")
        assert first.status_code == 201
        time.sleep(1.2)
        # the key is free again: the request runs anew (and finds the asset it made)
        later = upload(client, path, "short-lived", name="other")
        assert later.status_code == 200 and "idempotent-replayed" not in later.headers
        time.sleep(1.2)
    assert app.services.idempotency.purge_expired() == 1
    assert app.services.idempotency.purge_expired() == 0


def test_openapi_documents_keys_duplicates_and_the_digest_filter(api: Api) -> None:
    with api.client() as anonymous:
        doc = anonymous.get("/openapi.json").json()
    create = doc["paths"]["/v1/assets"]["post"]
    header = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["schema"]["maxLength"] == 255
    responses = create["responses"]
    assert {"200", "201", "409", "422"} <= set(responses)
    assert "X-Duplicate-Of" in responses["200"]["headers"]
    for status in ("409", "422"):
        assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/Error")
    form = create["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"true", "false"} <= set(form["dedupe"]["enum"])  # a form field's words
    assert doc["components"]["schemas"]["ImportRequest"]["properties"]["dedupe"]["type"] == \
        "boolean"
    listing = {p["name"]: p for p in doc["paths"]["/v1/assets"]["get"]["parameters"]}
    assert listing["sha256"]["schema"]["items"]["pattern"] == "^[0-9a-fA-F]{64}$"


def test_a_running_key_is_held_while_renewed_and_freed_when_its_process_is_gone(
        api: Api) -> None:
    from mediashelf.db.idempotency import IdempotencyRepository
    from mediashelf.errors import Conflict
    from mediashelf.services.idempotency import IdempotencyService

    tenant = uuid.uuid4()  # keys need no tenant row: any id keeps them apart
    service = IdempotencyService(api.services.db, IdempotencyRepository(), ttl_s=60,
                                 lease_s=1.0)
    held = service.begin(tenant, "long-upload")
    time.sleep(0.45)
    assert service.renewal_due(held)
    service.keep_alive(held)  # the upload is still streaming in: the lease starts again
    time.sleep(0.7)  # past the first lease, within the renewed one
    with pytest.raises(Conflict):
        service.begin(tenant, "long-upload")
    time.sleep(1.1)  # no renewal: the process is gone; the key is free for the retry
    retry = service.begin(tenant, "long-upload")
    assert retry.kept is None
    retry.check("fp")
    service.settle(retry, Answer(201, "{}", {}))
    with pytest.raises(Replayed):
        service.begin(tenant, "long-upload").check("fp")
