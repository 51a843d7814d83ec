"""Quantisation ids: one canonical name, its bits per weight and what it costs in quality.

Bits per weight (bpw) are *effective* figures for a whole file, not the block format's nominal
width: llama.cpp's K-quant mixes keep some tensors (attention V, FFN down, output) at higher
precision, so a "Q4_K_M" file averages ~4.9 bpw, not 4.5. The GGUF figures come from the sizes
llama.cpp's `llama-quantize --help` prints for Llama-3-8B (8.03 B params), converted with
bpw = GiB × 2³⁰ × 8 / 8.03e9; IQ* and MLX figures are the formats' nominal bpw plus block scales.

Quality penalties are the fraction of benchmark quality a quant is taken to lose against the
16-bit model. They are a judgement ordered by llama.cpp's published perplexity deltas (Q8_0
+0.003, Q6_K +0.02, Q5_K_M +0.06, Q4_K_M +0.18, Q3_K_M +0.66, Q2_K +3.5 ppl @ Llama-3-8B), not a
measurement: a direct benchmark of the quantised file always beats them.

An id we cannot read is *never* guessed small: it is taken as 16 bpw (an unquantised file is
the largest thing it could plausibly be) and flagged `known=False`, so memory estimates err on
the side of "won't fit" rather than an out-of-memory crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

UNKNOWN_BITS_PER_WEIGHT = 16.0
UNKNOWN_QUALITY_PENALTY = 0.10


@dataclass(frozen=True, slots=True)
class QuantSpec:
    id: str
    """Canonical id: GGUF names upper-case (`Q4_K_M`), `MLX-4bit`, `AWQ-4bit`, `F16`…"""
    bits_per_weight: float
    quality_penalty: float
    """Fraction of 16-bit quality lost, 0 ≤ p < 1."""
    known: bool = True
    raw: str = ""
    """What the caller passed, for messages."""

    @property
    def bytes_per_weight(self) -> float:
        return self.bits_per_weight / 8.0


# canonical id -> (effective bits per weight, quality penalty)
_TABLE: dict[str, tuple[float, float]] = {
    "F32": (32.0, 0.0),
    "F16": (16.0, 0.0),
    "BF16": (16.0, 0.0),
    "FP8": (8.0, 0.01),
    "Q8_0": (8.5, 0.005),
    "Q6_K": (6.57, 0.01),
    "Q5_1": (6.04, 0.02),
    "Q5_K_M": (5.70, 0.02),
    "Q5_K_S": (5.57, 0.025),
    "Q5_0": (5.57, 0.025),
    "Q4_1": (5.11, 0.05),
    "Q4_K_XL": (5.0, 0.035),  # Unsloth dynamic (UD-Q4_K_XL): Q4_K_M with more tensors at 6-8 bit
    "Q4_K_M": (4.90, 0.04),
    "Q4_K_S": (4.67, 0.05),
    "Q4_0": (4.64, 0.06),
    "IQ4_NL": (4.50, 0.05),
    "NVFP4": (4.50, 0.05),  # FP4 values in 16-element blocks with an FP8 scale
    "IQ4_XS": (4.25, 0.045),
    "MXFP4": (4.25, 0.05),  # FP4 values in 32-element blocks with an 8-bit shared exponent
    "Q3_K_L": (4.31, 0.07),
    "Q3_K_M": (4.00, 0.08),
    "IQ3_M": (3.66, 0.10),
    "Q3_K_S": (3.65, 0.12),
    "IQ3_S": (3.44, 0.13),
    "IQ3_XS": (3.30, 0.14),
    "Q2_K": (3.17, 0.25),
    "IQ3_XXS": (3.06, 0.15),
    "IQ2_M": (2.70, 0.30),
    "IQ2_S": (2.50, 0.33),
    "IQ2_XS": (2.31, 0.36),
    "IQ2_XXS": (2.06, 0.40),
    "IQ1_M": (1.75, 0.50),
    "IQ1_S": (1.56, 0.55),
    # MLX: group size 64 with an fp16 scale and bias per group adds 0.5 bpw.
    "MLX-3bit": (3.5, 0.10),
    "MLX-4bit": (4.5, 0.05),
    "MLX-6bit": (6.5, 0.01),
    "MLX-8bit": (8.5, 0.005),
    # GPTQ/AWQ 4-bit with group size 128: scale + zero per group adds ~0.25 bpw.
    "AWQ-4bit": (4.25, 0.04),
    "GPTQ-4bit": (4.25, 0.05),
    "GPTQ-8bit": (8.25, 0.005),
}

# Short forms people type; the K-quant "M" mix is what llama.cpp means by a bare size.
_ALIASES: dict[str, str] = {
    "Q2": "Q2_K",
    "Q3": "Q3_K_M",
    "Q3_K": "Q3_K_M",
    "Q4": "Q4_K_M",
    "Q4_K": "Q4_K_M",
    "Q5": "Q5_K_M",
    "Q5_K": "Q5_K_M",
    "Q6": "Q6_K",
    "Q8": "Q8_0",
    "FP16": "F16",
    "FLOAT16": "F16",
    "HALF": "F16",
    "FP32": "F32",
    "FLOAT32": "F32",
    "INT8": "Q8_0",
    "INT4": "Q4_0",
    "UD_Q4_K_XL": "Q4_K_XL",
    "Q4_0_4_4": "Q4_0",
    "Q4_0_4_8": "Q4_0",
    "Q4_0_8_8": "Q4_0",
    "MXFP4_MOE": "MXFP4",
    "AWQ": "AWQ-4bit",
    "GPTQ": "GPTQ-4bit",
}

_GGUF_QUANT_IN_NAME = re.compile(
    r"(?<![A-Z0-9])(UD-)?(I?Q\d(?:_[0-9A-Z]+)*|BF16|F16|F32|MXFP4(?:_MOE)?|NVFP4)(?![A-Z0-9])",
    re.IGNORECASE,
)
_MLX_BITS = re.compile(r"^(MLX)?Q?(\d)(BITS?)?$")
_BPW = re.compile(r"(\d+(?:\.\d+)?)\s*BPW")


def _squash(raw: str) -> str:
    """Upper-case, trimmed, with `-`, spaces and `.` read as `_` (Q4-K-M == q4_k_m == Q4.K.M)."""
    text = raw.strip().upper()
    text = re.sub(r"\.GGUF$", "", text)
    return re.sub(r"[\s.\-]+", "_", text).strip("_")


@lru_cache(maxsize=4096)  # pure and called once per candidate: ranking 10k rows re-asks a few ids
def normalize_quant(raw: str) -> QuantSpec:
    """Canonical quant for any spelling we know; unknown ⇒ 16 bpw with `known=False`."""
    text = _squash(raw)
    if text.startswith("UD_"):
        text = text[3:] if text[3:] in _TABLE else text
    canonical = _ALIASES.get(text, text)
    if canonical in _TABLE:
        return _spec(canonical, raw)
    mlx = _mlx_id(text)
    if mlx is not None:
        return _spec(mlx, raw)
    compact = _compact_kquant(text)
    if compact is not None:
        return _spec(compact, raw)
    for family in ("AWQ", "GPTQ"):
        if text.startswith(family):
            bits = "8" if "8" in text else "4"
            return _spec(f"{family}-{bits}bit", raw)
    stated = _BPW.search(raw.upper())
    if stated is not None:  # exl2-style "4.65bpw": the author told us the width
        bpw = float(stated.group(1))
        if 1.0 <= bpw <= 32.0:
            return QuantSpec(f"{bpw:g}bpw", bpw, _penalty_for_bpw(bpw), True, raw)
    return QuantSpec(raw.strip() or "unknown", UNKNOWN_BITS_PER_WEIGHT,
                     UNKNOWN_QUALITY_PENALTY, known=False, raw=raw)


def quant_from_filename(filename: str) -> str | None:
    """The quant token in a GGUF file name (`Qwen3-8B-Q4_K_M.gguf` → `Q4_K_M`), or None."""
    stem = filename.rsplit("/", 1)[-1]
    stem = re.sub(r"-\d{5}-of-\d{5}", "", stem)  # split files: model-Q8_0-00001-of-00002.gguf
    matches = list(_GGUF_QUANT_IN_NAME.finditer(stem))
    if not matches:
        return None
    match = matches[-1]  # the quant is the last token; a model name may contain "Q3"-like bits
    return normalize_quant(match.group(0)).id


def _spec(canonical: str, raw: str) -> QuantSpec:
    bits, penalty = _TABLE[canonical]
    return QuantSpec(canonical, bits, penalty, True, raw)


def _mlx_id(text: str) -> str | None:
    match = _MLX_BITS.match(text.replace("_", ""))
    if match is None or not (match.group(1) or match.group(3)):
        return None
    canonical = f"MLX-{match.group(2)}bit"
    return canonical if canonical in _TABLE else None


def _compact_kquant(text: str) -> str | None:
    """`Q4KM`, `Q5KS`, `q4k_m` → the underscored K-quant id."""
    match = re.fullmatch(r"(I?Q\d)_?K_?([SML])", text)
    if match is None:
        return None
    canonical = f"{match.group(1)}_K_{match.group(2)}"
    return canonical if canonical in _TABLE else None


def _penalty_for_bpw(bpw: float) -> float:
    """For a stated width only: the penalty of the nearest-below GGUF quant."""
    best = 0.55
    for bits, penalty in _TABLE.values():
        if bits <= bpw:
            best = min(best, penalty)
    return best
