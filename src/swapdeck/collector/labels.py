"""Bounded label values for the metrics endpoint (pure).

A label value that comes from the wire unchecked (a request path, an arbitrary status code,
a model id a client made up) would let one misbehaving client create series without end
and take Prometheus down with it. So every label here comes from a fixed set or a capped
one:

- `path`: one of llama-swap's inference paths (§1.1), else `other`; `unknown` before v209,
  whose records carry no path (§3.1);
- `status`: the exact code when it is one a person would alert on, else its class (`4xx`),
  `unknown` before v209 (§12);
- `model`: ids the host itself lists, first come first served up to a cap per host, else
  `other`. Records name the resolved real model id (§3.1), so aliases never get a label.
"""

from __future__ import annotations

from collections.abc import Iterable

OTHER = "other"
UNKNOWN = "unknown"

INFERENCE_PATHS = frozenset({
    # §1.1 POST JSON
    "/v1/chat/completions", "/v1/responses", "/v1/completions", "/v1/messages",
    "/v1/messages/count_tokens", "/v1/embeddings", "/reranking", "/rerank", "/v1/rerank",
    "/v1/reranking", "/infill", "/completion", "/v1/audio/speech", "/v1/audio/voices",
    "/v1/images/generations", "/sdapi/v1/txt2img", "/sdapi/v1/img2img",
    "/audioapi/v1/tasks/run",
    # §1.1 versionless forms (llama-swap strips the `/v`, but records the path it routed)
    "/v/chat/completions", "/v/responses", "/v/completions", "/v/messages",
    "/v/messages/count_tokens", "/v/embeddings", "/v/rerank", "/v/reranking",
    # §1.1 multipart, and GET with ?model=
    "/v1/audio/transcriptions", "/v1/images/edits", "/sdapi/v1/loras", "/props",
})
"""llama-swap's model-dispatched inference endpoints: the only paths it records (§3.1)."""

EXACT_STATUSES = frozenset({
    200, 201, 204, 400, 401, 403, 404, 408, 413, 422, 429, 499, 500, 501, 502, 503, 504,
})
"""Codes kept as themselves; any other code becomes its class, so at most ~25 values."""

UPSTREAM_PREFIX = "/upstream/"


def path_label(req_path: str | None) -> str:
    """The `path` label of a request path: a §1.1 path, `other`, or `unknown`.

    `/upstream/{model}/{path}` requests are recorded too (§1.5, §3.1); they are labelled by
    the inference path inside them, since the model segment is already the model label.
    """
    if req_path is None:
        return UNKNOWN
    path = req_path.split("?", 1)[0]
    if path.startswith(UPSTREAM_PREFIX):
        _, _, inner = path[len(UPSTREAM_PREFIX):].partition("/")
        path = "/" + inner
    return path if path in INFERENCE_PATHS else OTHER


def status_label(status_code: int | None) -> str:
    if status_code is None:
        return UNKNOWN
    if status_code in EXACT_STATUSES:
        return str(status_code)
    if 100 <= status_code <= 599:
        return f"{status_code // 100}xx"
    return OTHER


class ModelLabels:
    """One host's model labels: ids it lists get their own label, up to `cap` of them.

    Labels once given are kept for the life of the process (a series never changes its
    name); a model the host has never listed, or one that arrives after the cap is
    reached, is `other`.
    """

    __slots__ = ("_assigned", "_cap", "_listed")

    def __init__(self, cap: int, listed: Iterable[str] = ()) -> None:
        if cap < 1:
            raise ValueError(f"model label cap must be at least 1, got {cap}")
        self._cap = cap
        self._listed: set[str] = set()
        self._assigned: set[str] = set()
        self.listed(listed)

    def listed(self, model_ids: Iterable[str]) -> None:
        """The host lists these models (a model list or a state change): they may get labels."""
        for model in model_ids:
            if model in self._listed:
                continue
            self._listed.add(model)
            if len(self._assigned) < self._cap and model != OTHER:
                self._assigned.add(model)

    def label(self, model: str) -> str:
        return model if model in self._assigned else OTHER

    @property
    def assigned(self) -> frozenset[str]:
        return frozenset(self._assigned)
