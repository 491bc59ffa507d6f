"""Reading what the server tells operators: Prometheus text and JSON log lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def sample(text: str, name: str, **labels: str) -> float | None:
    """One sample's value in a Prometheus text page, read by prometheus-client's own parser."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


def json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a log as a JSON object: any other line fails the test."""
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for event in events:
        assert {"time", "level", "logger", "message"} <= set(event), event
    return events
