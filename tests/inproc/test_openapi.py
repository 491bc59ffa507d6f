"""The served OpenAPI document: valid, the seed's list route to the letter (additions only), and
the invariants every operation keeps, new ones included; the offline docs pages.

The document is checked against the server's real answers in tests/api/test_openapi_conformance.py
(schemathesis) and here for what the document says about keys.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_spec_validator import validate

from tests.support.inproc import BASE_URL, Api

SEED = Path(__file__).parent.parent / "data" / "argil-list-assets.yaml"  # from shared/seed
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
METHODS = ("get", "head", "post", "put", "patch", "delete")
ANY_ID = "00000000-0000-7000-8000-0000000000aa"


@pytest.fixture(scope="module")
def doc(app: Api) -> dict[str, Any]:
    with app.client() as anonymous:
        res = anonymous.get("/openapi.json")
    assert res.status_code == 200
    body: dict[str, Any] = res.json()
    return body


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in doc["paths"].items()
            for method, op in item.items() if method in METHODS]


def resolved(doc: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    ref = response.get("$ref")
    if not ref:
        return response
    found: dict[str, Any] = doc
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return found


def test_the_document_is_valid_openapi(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["servers"] == [{"url": "/"}]  # MEDIASHELF_PUBLIC_URL's path: this one has none
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids)), ids


def test_every_operation_keeps_the_invariants(doc: dict[str, Any]) -> None:
    """What every route gets, new routes included: errors as {code, message} with their own
    words, 401 and 429 wherever a key is needed, the HTTP layer's refusals, tags."""
    assert "HTTPValidationError" not in json.dumps(doc)
    assert "ValidationError" not in doc["components"]["schemas"]
    described_tags = {t["name"]: t.get("description") for t in doc["tags"]}
    for method, path, op in operations(doc):
        where = f"{method.upper()} {path}"
        answers = {code: resolved(doc, r) for code, r in op["responses"].items()}
        if "422" in answers:  # only for an Idempotency-Key sent with another request
            assert "Idempotency-Key" in {p["name"] for p in op.get("parameters", [])}, where
        assert op.get("tags") and all(described_tags.get(t) for t in op["tags"]), where
        assert op.get("summary"), where
        for code, response in answers.items():
            if int(code) >= 400:
                assert response["content"] == ERROR, f"{where} {code}"
                assert response["description"].strip(), f"{where} {code}"
            if int(code) == 201:
                assert "Location" in response["headers"], where
        assert {"400", "414", "431"} <= set(answers), where
        if op.get("security") != []:  # the document's own rule: the global key schemes apply
            assert {"401", "429", "503"} <= set(answers), where
            for code in ("429", "503"):
                assert "Retry-After" in answers[code]["headers"], f"{where} {code}"
    statuses = {code for _, _, op in operations(doc) for code in op["responses"]}
    assert {"404", "413", "415", "507", "403", "416"} <= statuses


def test_the_key_schemes_are_the_ones_the_server_takes(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"]["name"] == "x-api-key"
    assert schemes["BearerAuth"] == {**schemes["BearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["ApiKeyAuthorization"]["name"] == "Authorization"
    assert doc["security"] == [{name: []} for name in schemes]


def test_the_document_says_which_routes_take_a_key(api: Api, api_key: str,
                                                   doc: dict[str, Any]) -> None:
    """Checked against the answers: an operation the document marks as needing a key answers
    401 without one, and one it marks public does not."""
    with api.client() as anonymous:
        for method, path, op in operations(doc):
            url = re.sub(r"\{[^}]+\}", ANY_ID, path)
            tus = {"Tus-Resumable": "1.0.0"}  # the tus routes check their protocol first
            res = anonymous.request(method.upper(), url, headers=tus)
            if op.get("security") == []:
                assert res.status_code != 401, f"{method} {path}"
            else:
                assert res.status_code == 401, f"{method} {path}"
                assert res.headers["WWW-Authenticate"].startswith("ApiKey")
                # a stream never ends its answer: a bad parameter shows the key was taken
                streams = "text/event-stream" in op["responses"].get("200", {}).get("content", {})
                keyed = anonymous.request(method.upper(), url,
                                          params={"types": "none"} if streams else None,
                                          headers={**tus, "x-api-key": api_key})
                assert keyed.status_code != 401, f"{method} {path}"


def test_the_list_route_is_the_seeds_with_additions_only(doc: dict[str, Any]) -> None:
    seed = yaml.safe_load(SEED.read_text())
    want, got = seed["paths"]["/assets"]["get"], doc["paths"]["/v1/assets"]["get"]
    assert (got["summary"], got["description"]) == (want["summary"], want["description"])
    served = {p["name"]: p for p in got["parameters"]}
    for param in want["parameters"]:
        mine = served[param["name"]]
        assert (mine["in"], mine["required"], mine["schema"]) == \
            (param["in"], param["required"], param["schema"]), param["name"]
        assert mine["description"].startswith(param["description"].rstrip()), param["name"]
    for code, response in want["responses"].items():
        assert got["responses"][code]["description"] == response["description"]
        assert got["responses"][code].get("headers", {}) == {
            **got["responses"][code].get("headers", {}), **response.get("headers", {})}
    listed = got["responses"]["200"]["content"]["application/json"]["schema"]
    assert {**listed, "title": None} == {"type": "array", "title": None,
                                         "items": {"$ref": "#/components/schemas/Asset"}}
    assert got["responses"]["400"]["content"] == ERROR
    schemas = doc["components"]["schemas"]
    for name in ("Asset", "Error"):
        for field, spec in seed["components"]["schemas"][name]["properties"].items():
            assert _as_30(schemas[name]["properties"][field]) == spec, f"{name}.{field}"
    assert doc["components"]["securitySchemes"]["ApiKeyAuth"] == \
        seed["components"]["securitySchemes"]["ApiKeyAuth"]
    assert {"ApiKeyAuth": []} in doc["security"]


def _as_30(prop: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.1's `anyOf: [X, {type: null}]` written the seed's 3.0 way (`nullable`)."""
    prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
    kinds = prop.pop("anyOf", None)
    if kinds:
        real = [k for k in kinds if k != {"type": "null"}]
        assert len(real) == 1 and len(kinds) == 2
        prop = {**real[0], "nullable": True, **prop}
    return prop


def test_a_created_asset_has_its_location(client: httpx.Client,
                                          media: dict[str, Path]) -> None:
    res = client.post("/v1/assets", files={"file": ("red.png", media["png"].read_bytes())})
    assert res.status_code == 201, res.text
    assert res.headers["Location"] == f"{BASE_URL}/v1/assets/{res.json()['id']}"
    assert client.get(res.headers["Location"]).json()["id"] == res.json()["id"]


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", "/v1/assets", "GET, HEAD, POST"), ("OPTIONS", "/v1/assets", "GET, HEAD, POST"),
    ("POST", f"/v1/assets/{ANY_ID}", "GET, HEAD, PATCH, DELETE"),
    ("POST", "/files/a/b", "GET, HEAD"), ("POST", "/healthz", "GET, HEAD"),
    ("POST", "/web/app.js", "GET, HEAD"), ("POST", "/v1/events", "GET"),
])
def test_405_names_every_method_of_the_path(api: Api, method: str, path: str,
                                            allow: str) -> None:
    """Starlette named only the first route's methods (schemathesis found it)."""
    with api.client() as anonymous:
        res = anonymous.request(method, path)
    assert res.status_code == 405
    assert res.headers["Allow"] == allow
    assert res.json()["code"] == 405


def test_the_docs_page_uses_no_other_site(api: Api) -> None:
    """Every script, style sheet and icon of /docs comes from this server."""
    with api.client() as anonymous:
        html = anonymous.get("/docs").text
        links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
        assert links and "openapi.json" in html
        for link in links:
            assert not re.match(r"(?:[a-z]+:)?//", link), link
            assert anonymous.get(link).status_code == 200, link
    assert "validatorUrl" not in html or '"validatorUrl": null' in html



def test_the_event_stream_is_described(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/v1/events"]["get"]
    assert op["tags"] == ["events"] and "events" in [t["name"] for t in doc["tags"]]
    assert list(op["responses"]["200"]["content"]) == ["text/event-stream"]
    assert {p["name"] for p in op["parameters"]} == {"Last-Event-ID", "lastEventId", "since",
                                                     "types"}
    assert {"400", "401", "429"} <= set(op["responses"])
