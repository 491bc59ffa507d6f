"""Optional OpenTelemetry tracing: a request's span, the job it queued, the job's processing.

The request's span is FastAPI's own (its native telemetry, 0.143 and later, uses the global
provider and honours an incoming `traceparent`); the job's and the processing's are ours. The
code speaks only opentelemetry-api (the `otel` extra); without it, or with no tracer provider
installed, every call here does nothing. MEDIASHELF_TRACING=otlp installs the SDK with
the OTLP/HTTP exporter (set up by the standard OTEL_EXPORTER_OTLP_* and OTEL_SERVICE_NAME
variables), `console` prints the spans; a provider installed by the host (opentelemetry-instrument,
a test's) is used as it is. A job row keeps its request's W3C `traceparent`, so the worker's span
is a child of the request that queued the job, whichever process or machine runs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from mediashelf.errors import ConfigError

try:
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # the base install: tracing is off
    trace = None  # type: ignore[assignment]

_KINDS = ("internal", "consumer")


def active() -> bool:
    """Whether spans are recorded: a real tracer provider is installed."""
    if trace is None:
        return False
    return not isinstance(trace.get_tracer_provider(),
                          trace.ProxyTracerProvider | trace.NoOpTracerProvider)


@contextmanager
def span(name: str, *, kind: str = "internal", parent: str | None = None,
         attributes: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """A span around the block (yielded, or None when tracing is off), the child of the current
    one or of a stored `traceparent`."""
    if not active():
        yield None
        return
    context = TraceContextTextMapPropagator().extract({"traceparent": parent}) if parent \
        else None
    tracer = trace.get_tracer("mediashelf")
    with tracer.start_as_current_span(name, context=context, kind=_kind(kind),
                                      attributes=dict(attributes or {})) as current:
        yield current


def _kind(kind: str) -> Any:
    assert trace is not None and kind in _KINDS
    return trace.SpanKind.CONSUMER if kind == "consumer" else trace.SpanKind.INTERNAL


def traceparent() -> str | None:
    """The current span as a W3C traceparent, to store with a job (None when tracing is off)."""
    if not active():
        return None
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


def setup(mode: str) -> None:
    """Install the SDK's provider for MEDIASHELF_TRACING (`otlp`, `console`); `off` leaves
    whatever the host installed."""
    if mode == "off" or active():
        return
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SpanExporter,
        )
    except ImportError:
        raise ConfigError("MEDIASHELF_TRACING: install mediashelf[otel] for tracing") from None
    exporter: SpanExporter
    if mode == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter()
    name = os.environ.get("OTEL_SERVICE_NAME") or "mediashelf"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    assert trace is not None
    trace.set_tracer_provider(provider)
