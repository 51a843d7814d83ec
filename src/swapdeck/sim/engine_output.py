"""What a simulated llama-server prints: the start-up banner and per-request slot lines.

Pure text builders. The banner carries the `build: N (commit) with cc for ...` line that
connectors use to tell which engine build a host runs, and a few ANSI-coloured lines, because
real upstream logs are raw process output (§1.6).
"""

from __future__ import annotations

from swapdeck.sim.hardware import HostHardware
from swapdeck.sim.model import SimModel
from swapdeck.sim.timings import Timings

_YELLOW = "\x1b[33m"
_GREEN = "\x1b[32m"
_RESET = "\x1b[0m"


def startup_banner(model: SimModel, port: int, hw: HostHardware, *, build: str,
                   commit: str) -> list[str]:
    """Lines printed while the model loads, in order; the last one means "ready"."""
    gpu_lines = [f"  Device {i}: {hw.gpu.name}, compute capability {hw.gpu.compute}, VMM: yes\n"
                 for i in range(hw.gpu_count)]
    layers = 49 if model.vram_mb > 8000 else 33
    return [
        "ggml_cuda_init: GGML_CUDA_FORCE_MMQ:    no\n",
        f"ggml_cuda_init: found {hw.gpu_count} CUDA devices:\n",
        *gpu_lines,
        f"build: {build} ({commit}) with cc for x86_64-linux-gnu\n",
        f"system info: n_threads = {hw.cpu.physical_cores}, n_threads_batch = "
        f"{hw.cpu.physical_cores}, total_threads = {hw.cpu.threads}\n",
        f"main: binding port with default address family\n"
        f"main: HTTP server is listening, hostname: 127.0.0.1, port: {port}, http threads: "
        f"{hw.cpu.threads - 1}\n",
        "main: loading model\n",
        f"srv    load_model: loading model '/models/{model.id}.gguf'\n",
        f"llama_model_loader: loaded meta data with 35 key-value pairs and {layers * 9 + 3} "
        f"tensors from /models/{model.id}.gguf (version GGUF V3 (latest))\n",
        f"load_tensors: offloading {layers - 1} repeating layers to GPU\n",
        f"load_tensors: offloaded {layers}/{layers} layers to GPU\n",
        f"load_tensors:        CUDA0 model buffer size = {model.vram_mb * 0.9:.2f} MiB\n",
        f"{_YELLOW}llama_context: n_ctx_per_seq ({model.context_length}) < n_ctx_train "
        f"({model.context_length * 4}) -- the full capacity of the model will not be "
        f"utilized{_RESET}\n",
        "srv          init: initializing slots, n_slots = 4\n",
        "main: model loaded\n",
        f"{_GREEN}main: server is listening on http://127.0.0.1:{port} - starting the main "
        f"loop{_RESET}\n",
        "srv  update_slots: all slots are idle\n",
    ]


def request_lines(task_id: int, slot: int, timings: Timings) -> str:
    """llama-server's slot log for one finished completion (`print_timing`)."""
    total_n = timings.prompt_n + timings.predicted_n
    total_ms = timings.prompt_ms + timings.predicted_ms
    prompt_tok_ms = timings.prompt_ms / timings.prompt_n
    steps = max(1, timings.predicted_n - 1)
    return (
        f"slot launch_slot_: id  {slot} | task {task_id} | processing task\n"
        f"slot update_slots: id  {slot} | task {task_id} | new prompt, n_ctx_slot = 8192, "
        f"n_keep = 0, n_prompt_tokens = {timings.prompt_n + timings.cache_n}\n"
        f"slot update_slots: id  {slot} | task {task_id} | n_past = {timings.cache_n}, "
        f"memory_seq_rm [{timings.cache_n}, end)\n"
        f"slot      release: id  {slot} | task {task_id} | stop processing: n_past = "
        f"{total_n + timings.cache_n}, truncated = 0\n"
        f"slot print_timing: id  {slot} | task {task_id} | \n"
        f"prompt eval time = {timings.prompt_ms:10.2f} ms / {timings.prompt_n:5d} tokens "
        f"({prompt_tok_ms:8.2f} ms per token, {timings.prompt_per_second:8.2f} tokens per "
        f"second)\n"
        f"       eval time = {timings.predicted_ms:10.2f} ms / {timings.predicted_n:5d} tokens "
        f"({timings.predicted_ms / steps:8.2f} ms per token, "
        f"{timings.predicted_per_second:8.2f} tokens per second)\n"
        f"      total time = {total_ms:10.2f} ms / {total_n:5d} tokens\n"
        "srv  update_slots: all slots are idle\n"
    )


def request_failure_line(task_id: int, message: str) -> str:
    return f"srv    send_error: task id = {task_id}, error: {message}\n"
