"""A stand-in llama-server for the gate's orchestration tests: a real HTTP server on loopback
with llama-server's endpoints and response shapes (bench-facts §2.1–§2.5), whose answers and
speed are chosen by the test. It lets the paths a real engine cannot be made to take on
demand run in seconds: a build that changes its own greedy answer, failing requests,
several slots, and exact speed ratios (the server *reports* the `timings` it is told to).

    fake_engine.py <llama-server arguments…> --fake-mode MODE --fake-rate TOKENS_PER_S

Modes: `same` (the reference answers), `diverge` (other tokens from position 6 on, every
time), `flaky` (other tokens from position 6 on, different on every call), `error` (HTTP 500
on chat completions).
"""

from __future__ import annotations

import itertools
import json
import random
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WORDS = ("The", "answer", "is", "Paris", ",", "4", ",", "def", "Monday", "cold", "Shakespeare",
         "8", "3", "and", "more", "words", "to", "fill", "a", "long", "answer", "here")
TEMPLATE_TOKENS = 10


def option(args: list[str], name: str, default: str) -> str:
    """The last value given for `name` (llama.cpp reads its arguments the same way)."""
    found = default
    for index, arg in enumerate(args[:-1]):
        if arg == name:
            found = args[index + 1]
    return found


ARGS = sys.argv[1:]
MODE = option(ARGS, "--fake-mode", "same")
RATE = float(option(ARGS, "--fake-rate", "100"))
SLOTS = int(option(ARGS, "-np", "1"))
JITTER = itertools.cycle((0.99, 1.0, 1.01, 1.005, 0.995))
"""Deterministic ±1% spread: well under the 10% CV that makes a comparison UNSTABLE."""


def answer_ids(max_tokens: int) -> list[int]:
    ids = [100 + i for i in range(min(max_tokens, len(WORDS)))]
    if MODE in ("diverge", "flaky"):
        salt = random.randrange(1, 1000) if MODE == "flaky" else 0
        ids = ids[:6] + [5000 + salt + i for i in range(len(ids) - 6)]
    return ids


def word(token: int) -> str:
    return WORDS[token - 100] if 100 <= token < 100 + len(WORDS) else f"w{token}"


class Engine(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes: without this, Nagle plus the client's
        # delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._json(200, {"status": "ok"})
        elif self.path == "/props":
            self._json(200, {"build_info": "b6500-fake0000", "total_slots": SLOTS,
                             "default_generation_settings": {"n_ctx": 2048}})
        elif self.path == "/v1/models":
            self._json(200, {"data": [{"id": "fake", "meta": {"n_params": 1000,
                                                             "n_vocab": 6000}}]})
        else:
            self._json(404, {"error": {"code": 404, "message": "not found"}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        if self.path == "/tokenize":
            self._json(200, {"tokens": list(range(len(str(body["content"]).split())))})
        elif self.path == "/v1/chat/completions" and MODE == "error":
            self._json(500, {"error": {"code": 500, "message": "the fake engine fails"}})
        elif self.path == "/v1/chat/completions" and body.get("stream"):
            self._stream(body)
        elif self.path == "/v1/chat/completions":
            ids = answer_ids(int(body["max_tokens"]))
            self._json(200, {
                "choices": [{"index": 0, "finish_reason": "length",
                             "message": {"role": "assistant",
                                         "content": " ".join(word(i) for i in ids)},
                             "logprobs": {"content": [{"id": i, "token": word(i)}
                                                      for i in ids]}}],
                "system_fingerprint": "b6500-fake0000"})
        else:
            self._json(404, {"error": {"code": 404, "message": "not found"}})

    def _stream(self, body: dict[str, Any]) -> None:
        prompt = len(str(body["messages"][0]["content"]).split()) + TEMPLATE_TOKENS
        tokens = int(body["max_tokens"])
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()

        def send(chunk: dict[str, Any]) -> None:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())

        for index in range(tokens):
            delta = {"content": "x"} if index else {"role": "assistant", "content": "x"}
            send({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        predicted_ms = 1000.0 * (tokens - 1) / (RATE * next(JITTER))
        send({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
              "system_fingerprint": "b6500-fake0000",
              "timings": {"cache_n": 0, "prompt_n": prompt, "prompt_ms": prompt * 2.0,
                          "prompt_per_second": 500.0, "predicted_n": tokens,
                          "predicted_ms": predicted_ms,
                          "predicted_per_second": 1000.0 * tokens / predicted_ms}})
        send({"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": tokens}})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        return None


def main() -> None:
    port = int(option(ARGS, "--port", "0"))
    print(f"build: 6500 (fake0000) fake llama-server on 127.0.0.1:{port}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Engine).serve_forever()


if __name__ == "__main__":
    main()
