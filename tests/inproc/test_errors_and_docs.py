"""Every error is {"code", "message"}; the served OpenAPI describes the seed's list route."""

from __future__ import annotations

import httpx
import pytest

from tests.support.inproc import Api, both_ways


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/nope", 404), ("GET", "/v1/assets/not-a-uuid", 404),
    ("GET", "/v1/assets/00000000-0000-7000-8000-0000000000ff", 404),
    ("PUT", "/v1/assets", 405), ("PATCH", "/v1/assets/x", 404),
    ("DELETE", "/v1/trash", 405), ("POST", "/v1/assets/x/restore", 404),
    ("GET", "/files/assets/x/original", 403),
])
@both_ways
def test_errors_have_code_and_message(client: httpx.Client, method: str, path: str,
                                      status: int) -> None:
    res = client.request(method, path)
    assert res.status_code == status
    body = res.json()
    assert body == {"code": status, "message": body["message"]} and body["message"]
    assert "detail" not in body


@pytest.mark.parametrize(("kwargs", "status", "words"), [
    ({"json": {"name": "x", "type": "IMAGE"}}, 400, "'url'"),
    ({"json": {"type": "IMAGE", "url": "https://example.com/a.png"}}, 400, "'name'"),
    ({"json": {"name": "x", "url": "https://example.com/a.png"}}, 400, "'type'"),
    ({"json": {"name": "x", "type": "PDF", "url": "https://example.com/a.png"}}, 400, "AUDIO"),
    ({"json": {"name": "x" * 257, "type": "IMAGE", "url": "https://e.com/a.png"}}, 400, "256"),
    ({"json": ["not", "an", "object"]}, 400, "object"),
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "JSON"),
    ({"content": b"hello", "headers": {"content-type": "text/plain"}}, 415, "multipart"),
    ({"files": {"other": ("a.txt", b"x")}}, 400, "'file'"),
    ({"files": {"file": ("empty.png", b"")}}, 400, "empty"),
    ({"files": {"file": ("a.png", b"\x89PNG")}, "data": {"type": "GIF"}}, 400, "'type'"),
    ({"files": {"file": ("notes.txt", b"just some words")}}, 400, "type"),
    ({"content": b"--x\r\nbroken", "headers": {
        "content-type": "multipart/form-data; boundary=x"}}, 400, "multipart"),
])
def test_bad_create_requests(client: httpx.Client, kwargs: dict[str, object], status: int,
                             words: str) -> None:
    res = client.post("/v1/assets", **kwargs)  # type: ignore[arg-type]
    assert res.status_code == status, res.text
    assert res.json()["code"] == status and words in res.json()["message"]


def test_openapi_describes_the_list_route_as_the_seed(api: Api) -> None:
    with api.client() as anonymous:
        doc = anonymous.get("/openapi.json").json()
        assert anonymous.get("/docs").status_code == 200
    op = doc["paths"]["/v1/assets"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["type"]["schema"] == {"type": "array", "items": {
        "type": "string", "enum": ["AUDIO", "IMAGE", "VIDEO"]}}
    assert params["status"]["schema"]["default"] == "READY"
    assert params["status"]["schema"]["enum"] == ["PROCESSING", "READY", "FAILED"]
    assert params["page"]["schema"] == {"type": "integer", "minimum": 1, "default": 1}
    assert params["pageSize"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100,
                                            "default": 20}
    assert set(op["responses"]["200"]["headers"]) == {"X-Total-Count", "X-Page", "X-Page-Size",
                                                      "X-Total-Pages"}
    schemas = doc["components"]["schemas"]
    assert {"id", "name", "type", "status", "fileUrl", "thumbnailUrl", "createdAt"} <= set(
        schemas["Asset"]["properties"])
    assert set(schemas["Error"]["properties"]) == {"code", "message"}
    assert doc["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey", "in": "header", "name": "x-api-key",
        "description": "API key to be included in the x-api-key header"}
    assert {"/v1/assets/{asset_id}"} <= set(doc["paths"])


@both_ways
def test_health_ready_metrics_and_page(api: Api) -> None:
    with api.client() as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        ready = anonymous.get("/readyz")
        assert ready.status_code == 200 and ready.json()["database"] == "ok"
        metrics = anonymous.get("/metrics").text
        assert "mediashelf_assets_created_total" in metrics
        page = anonymous.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
