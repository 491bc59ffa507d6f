"""Prometheus metrics, registered once per process on the default registry."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("mediashelf_http_requests_total", "HTTP requests", ["method", "route", "status"])
ASSETS_CREATED = Counter("mediashelf_assets_created_total", "Assets created", ["type", "source"])
ASSETS_FINISHED = Counter("mediashelf_assets_finished_total", "Assets processed", ["status"])
IMPORTS_REFUSED = Counter("mediashelf_imports_refused_total", "URL imports refused", ["reason"])
JOB_SECONDS = Histogram("mediashelf_job_seconds", "Time spent on one job", ["kind"])
