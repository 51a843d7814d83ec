"""Writing a metrics page: OpenMetrics 1.0 text, or the classic Prometheus text format (pure).

Written by hand rather than through prometheus_client's registry: a fleet of 50 hosts is
~13,000 samples a page, which prometheus_client took ~0.5 s to render — on the event loop
that also reads every host's stream. Built here it takes a few tens of milliseconds. The
output is checked with prometheus_client's own parsers (tests/collector).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Kind = Literal["counter", "gauge", "histogram", "stateset"]


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def labels_text(pairs: Iterable[tuple[str, str]]) -> str:
    """`a="x",b="y"` (no braces), values escaped; build once per series, reuse per sample."""
    return ",".join(f'{name}="{escape_label(value)}"' for name, value in pairs)


@lru_cache(maxsize=8192)
def bucket_labels(labels: str, les: tuple[str, ...]) -> tuple[str, ...]:
    """A series' labels with each bucket's `le` added (memoised: the same every scrape)."""
    sep = "," if labels else ""
    return tuple(f'{labels}{sep}le="{le}"' for le in les)


def number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


@dataclass(slots=True)
class Family:
    name: str
    kind: Kind
    help: str
    lines: list[tuple[str, str, str]] = field(default_factory=list)
    """(sample suffix, labels text, value text) in exposition order."""

    def add(self, labels: str, value: float, suffix: str = "") -> None:
        self.lines.append((suffix, labels, number(value)))

    def counter(self, labels: str, value: float) -> None:
        self.add(labels, value, "_total")

    def histogram(self, labels: str, buckets: Sequence[tuple[str, int]], total: float) -> None:
        """`buckets`: (labels text with `le`, cumulative count), the +Inf bucket last; the
        bucket labels come from `bucket_labels`, built once per series."""
        self.lines.extend(("_bucket", bucket, str(count)) for bucket, count in buckets)
        self.add(labels, buckets[-1][1], "_count")
        self.add(labels, total, "_sum")

    def stateset(self, labels: str, states: Iterable[tuple[str, bool]]) -> None:
        sep = "," if labels else ""
        for state, on in states:
            self.lines.append(("", f'{labels}{sep}{self.name}="{escape_label(state)}"',
                               "1" if on else "0"))


def write_page(families: Iterable[Family], *, openmetrics: bool) -> bytes:
    out: list[str] = []
    for family in families:
        help_text = family.help.replace("\\", "\\\\").replace("\n", "\\n")
        if openmetrics:
            head, kind = family.name, family.kind
        else:
            # The classic format names a counter by its sample and has no stateset type.
            head = family.name + ("_total" if family.kind == "counter" else "")
            kind = "gauge" if family.kind == "stateset" else family.kind
        out.append(f"# HELP {head} {help_text}\n# TYPE {head} {kind}\n")
        name = family.name
        out.extend(f"{name}{suffix}{{{labels}}} {value}\n" if labels
                   else f"{name}{suffix} {value}\n"
                   for suffix, labels, value in family.lines)
    if openmetrics:
        out.append("# EOF\n")
    return "".join(out).encode()


def wants_openmetrics(accept: str) -> bool:
    """Prometheus asks for OpenMetrics first in its Accept header; anything else gets text."""
    return any(part.split(";", 1)[0].strip() == "application/openmetrics-text"
               for part in accept.split(","))
