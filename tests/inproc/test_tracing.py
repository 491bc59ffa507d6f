"""OpenTelemetry: the request's span, the job it queued and the job's processing are one trace,
linked through the job's row (the worker reads the request's traceparent from the database)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from mediashelf import tracing
from mediashelf.db.schema import jobs
from tests.support.inproc import InProcess
from tests.support.server import upload, wait_for
from tests.support.waiting import wait_until

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """A real SDK provider with the in-memory exporter, installed for this test only (the API
    allows one global provider per process: it is reset afterwards, as OpenTelemetry's own test
    utilities do)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        trace._TRACER_PROVIDER = None
        trace._TRACER_PROVIDER_SET_ONCE = Once()
        assert not tracing.active()


def _one(found: list[ReadableSpan], name: str) -> ReadableSpan:
    named = [s for s in found if s.name == name]
    assert len(named) == 1, [s.name for s in found]
    return named[0]


def test_request_job_and_processing_are_one_trace(spans: InMemorySpanExporter,
                                                  make_app: Callable[..., InProcess],
                                                  media: dict[str, Path]) -> None:
    app = make_app()
    with app.client(app.new_key("traced")) as c:
        c.headers["traceparent"] = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"  # the caller's span
        asset = upload(c, media["png"])
        assert wait_for(c, asset["id"])["status"] == "READY"
        # the job's span ends after its finish made the asset READY: on a busy machine, later
        wait_until("the job's span has ended", lambda: any(
            s.name == "job.process" for s in spans.get_finished_spans()), timeout=30)
    found = list(spans.get_finished_spans())
    request = _one(found, "POST /v1/assets")  # FastAPI's own server span
    job = _one(found, "job.process")
    analyse = _one(found, "asset.analyse")
    assert request.kind is trace.SpanKind.SERVER and job.kind is trace.SpanKind.CONSUMER
    assert request.attributes is not None and request.attributes["http.route"] == "/v1/assets"
    assert request.parent is not None and f"{request.parent.span_id:016x}" == CALLER_SPAN
    assert {f"{s.context.trace_id:032x}" for s in (request, job, analyse)} == {CALLER_TRACE}
    assert request.context.span_id in _ancestors(found, job)  # through the job's row
    assert analyse.parent is not None and analyse.parent.span_id == job.context.span_id
    assert job.attributes is not None and job.attributes["asset_id"] == asset["id"]


def _ancestors(found: list[ReadableSpan], span: ReadableSpan) -> list[int]:
    by_id = {s.context.span_id: s for s in found}
    chain: list[int] = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span.context.span_id)
    return chain


def test_without_a_provider_nothing_is_traced(make_app: Callable[..., InProcess],
                                              media: dict[str, Path]) -> None:
    assert not tracing.active() and tracing.traceparent() is None
    app = make_app(run_worker=False)
    with app.client(app.new_key("untraced")) as c:
        c.headers["traceparent"] = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
        asset = upload(c, media["png"])
    with app.services.db.read() as conn:
        stored = conn.execute(sa.select(jobs.c.traceparent)
                              .where(jobs.c.asset_id == uuid.UUID(asset["id"]))).one()
    assert stored.traceparent is None
