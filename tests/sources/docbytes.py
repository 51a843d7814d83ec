"""Exact examples from /work/shared/docs/llama-swap-api.md, shared by the parser tests and
the loopback hosts. Section numbers name where each one is printed."""

from __future__ import annotations

import json

# §2.1: the double-encoded envelope, byte for byte.
MODEL_STATUS_FRAME = (
    r'{"type":"modelStatus","data":"[{\"id\":\"qwen3-30b\",\"name\":\"Qwen3 30B A3B\",'
    r'\"description\":\"\",\"state\":\"starting\",\"unlisted\":false,\"peerID\":\"\"}]"}'
)

# §2.2: the model object and a peer model.
MODEL_OBJECT = (
    '{"id":"qwen3-30b","name":"Qwen3 30B A3B","description":"","state":"ready","unlisted":false,'
    '"peerID":"","aliases":["qwen"],"capabilities":{"vision":true},"context_length":32768}'
)
PEER_OBJECT = (
    '{"id":"openrouter/z-ai/glm-4.7","name":"","description":"","state":"","unlisted":false,'
    '"peerID":"openrouter"}'
)

# §2.2: the v240+ inflight entry.
INFLIGHT_ENTRY = (
    '{"id":"7","timestamp":"2026-08-22T10:15:03.1234-07:00","model":"qwen3-30b",'
    '"req_path":"/v1/chat/completions","method":"POST","req_headers":{"Content-Type":'
    '"application/json","Authorization":"[REDACTED]","User-Agent":"OpenAI/Python 1.99.0"},'
    '"remote_ip":"192.168.1.50","resp_headers":{},"resp_bytes":18342,"elapsed_ms":5120,'
    '"metadata":{"fifo_priority":"0"}}'
)

# §3.1: the nested record (v209+, HEAD) and the flat record (<=v208).
NESTED_RECORD = (
    '{"id":42,"timestamp":"2026-08-22T10:15:09-07:00","model":"qwen3-30b",'
    '"req_path":"/v1/chat/completions","resp_content_type":"text/event-stream",'
    '"resp_status_code":200,"tokens":{"cache_tokens":1024,"draft_tokens":-1,'
    '"draft_acc_tokens":-1,"input_tokens":312,"output_tokens":587,"prompt_per_second":1450.2,'
    '"tokens_per_second":88.4},"duration_ms":6871,"has_capture":true,"error_msg":"...",'
    '"metadata":{"selector":"coding-model"}}'
)
FLAT_RECORD = (
    '{"id":0,"timestamp":"...","model":"m","cache_tokens":-1,"input_tokens":10,'
    '"output_tokens":20,"prompt_per_second":-1,"tokens_per_second":55.1,"duration_ms":900,'
    '"has_capture":false}'
)
"""Printed with `"timestamp":"..."`; tests substitute a real RFC3339 value."""

# §1.9: one poll of /api/performance.
PERFORMANCE = (
    '{"enabled":true,\n "sys_stats":[{"timestamp":"2026-08-22T10:15:05-07:00",'
    '"cpu_util_per_core":[12.5,3.0],\n   "mem_total_mb":64218,"mem_used_mb":20112,'
    '"mem_free_mb":44106,"swap_total_mb":8191,"swap_used_mb":0,\n   "load_avg_1":1.2,'
    '"load_avg_5":0.9,"load_avg_15":0.7,\n   "net_io":[{"name":"eth0","bytes_recv":123456789,'
    '"bytes_sent":9876543}]}],\n "gpu_stats":[{"timestamp":"2026-08-22T10:15:05-07:00","id":0,'
    '"name":"NVIDIA GeForce RTX 3090",\n   "uuid":"GPU-1b2c...","temp_c":61,"vram_temp_c":0,'
    '"gpu_util_pct":97,"mem_util_pct":41,\n   "mem_used_mb":21500,"mem_total_mb":24576,'
    '"fan_speed_pct":55,"power_draw_w":312.4}]}'
)

# §1.3: /running (v186+).
RUNNING = (
    '{"running":[{"model":"qwen3-30b","state":"ready",\n  "cmd":"/opt/llama.cpp/llama-server '
    '--port 10001 -m /models/qwen3-30b.gguf -ngl 99\\n",\n  "proxy":"http://localhost:10001",'
    '"ttl":300,"name":"Qwen3 30B A3B","description":""}]}'
)

# §1.10: a capture.
CAPTURE = (
    '{"id":42,"req_path":"/v1/chat/completions",\n "req_headers":{"Content-Type":'
    '"application/json","Authorization":"[REDACTED]"},\n "req_body":"eyJtb2RlbCI6InF3ZW4zLTMwYiIs",'
    '"resp_headers":{"Content-Type":"text/event-stream"},\n "resp_body":"ZGF0YTogeyJjaG9pY2VzIjpb"}'
)

# §1.7 and §7 / §0.
VERSION = '{"version":"v250","commit":"60226b6","build_date":"2026-08-14T..."}'
AUTH_ERROR_V250 = '{"error":"unauthorized: invalid or missing API key","src":"llama-swap"}'
GO_404 = "404 page not found"


def frame(kind: str, payload: object) -> str:
    """An envelope the way Go writes it: inner JSON as a string, keys sorted (§2.1, §12)."""
    inner = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"),
                                                                 sort_keys=True)
    return json.dumps({"data": inner, "type": kind}, separators=(",", ":"), sort_keys=True)


def sse(data: str) -> bytes:
    """`fmt.Fprintf(w, "event:message\\ndata:%s\\n\\n", ...)` (§2.1)."""
    return f"event:message\ndata:{data}\n\n".encode()
