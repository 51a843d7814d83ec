"""Bounded label values (pure)."""

from __future__ import annotations

import pytest

from swapdeck.collector.labels import (
    INFERENCE_PATHS,
    OTHER,
    UNKNOWN,
    ModelLabels,
    path_label,
    status_label,
)


def test_inference_paths_are_llama_swaps_own() -> None:
    """§1.1: the model-dispatched endpoints, versioned, versionless, multipart and GET."""
    for path in ("/v1/chat/completions", "/v1/messages/count_tokens", "/v/rerank",
                 "/audioapi/v1/tasks/run", "/v1/audio/transcriptions", "/props", "/infill"):
        assert path in INFERENCE_PATHS
        assert path_label(path) == path
    assert len(INFERENCE_PATHS) == 30


@pytest.mark.parametrize(("raw", "label"), [
    ("/v1/chat/completions?model=x", "/v1/chat/completions"),  # GET ?model= form (§1.1)
    ("/upstream/qwen3-30b/v1/chat/completions", "/v1/chat/completions"),  # §1.5
    ("/upstream/qwen3-30b/slots", OTHER),
    ("/v1/chat/completions/", OTHER),
    ("/V1/chat/completions", OTHER),
    ("/v1/custom/123", OTHER),
    ("", OTHER),
    (None, UNKNOWN),  # records before v209 carry no path (§3.1)
])
def test_paths_outside_the_set_fold(raw: str | None, label: str) -> None:
    assert path_label(raw) == label


@pytest.mark.parametrize(("code", "label"), [
    (200, "200"), (429, "429"), (503, "503"), (418, "4xx"), (507, "5xx"), (302, "3xx"),
    (None, UNKNOWN), (0, OTHER), (1234, OTHER),
])
def test_status_is_exact_or_its_class(code: int | None, label: str) -> None:
    assert status_label(code) == label


def test_status_labels_are_few_whatever_the_codes() -> None:
    assert len({status_label(code) for code in range(-5, 2000)}) < 30


def test_model_labels_are_listed_ids_up_to_the_cap() -> None:
    labels = ModelLabels(2, listed=["qwen", "llama"])
    labels.listed(["gemma"])  # listed after the cap: folded
    assert labels.label("qwen") == "qwen"
    assert labels.label("llama") == "llama"
    assert labels.label("gemma") == OTHER
    assert labels.label("made-up-by-a-client") == OTHER
    assert labels.assigned == {"qwen", "llama"}


def test_a_model_called_other_cannot_pose_as_a_real_label() -> None:
    labels = ModelLabels(5, listed=[OTHER, "a"])
    assert labels.assigned == {"a"}


def test_the_cap_must_allow_a_label() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ModelLabels(0)
