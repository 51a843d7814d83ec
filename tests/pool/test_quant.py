"""Quant id normalisation: GGUF names, MLX, aliases, file names, and unknown ids kept large."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapdeck.pool.quant import UNKNOWN_BITS_PER_WEIGHT, normalize_quant, quant_from_filename

Q8_0_BITS = normalize_quant("Q8_0").bits_per_weight


@pytest.mark.parametrize(("raw", "canonical"), [
    ("q4", "Q4_K_M"), ("q4_k_m", "Q4_K_M"), ("Q4-K-M", "Q4_K_M"), ("q4km", "Q4_K_M"),
    ("Q4_K", "Q4_K_M"), (" q5 ", "Q5_K_M"), ("q8", "Q8_0"), ("Q3", "Q3_K_M"), ("q2", "Q2_K"),
    ("q6", "Q6_K"), ("iq4_xs", "IQ4_XS"), ("IQ3_XXS", "IQ3_XXS"), ("UD-Q4_K_XL", "Q4_K_XL"),
    ("bf16", "BF16"), ("fp16", "F16"), ("mxfp4", "MXFP4"), ("MXFP4_MOE", "MXFP4"),
    ("Q4_0_4_8", "Q4_0"), ("mlx-q4", "MLX-4bit"), ("MLX 4-bit", "MLX-4bit"),
    ("mlx-8bit", "MLX-8bit"), ("4bit", "MLX-4bit"), ("awq", "AWQ-4bit"),
    ("GPTQ-Int8", "GPTQ-8bit"),
])
def test_spellings_normalise(raw: str, canonical: str) -> None:
    spec = normalize_quant(raw)
    assert spec.id == canonical and spec.known and spec.raw == raw


def test_stated_bits_per_weight_are_taken_at_their_word() -> None:
    spec = normalize_quant("exl2 4.65bpw")
    assert spec.known and spec.bits_per_weight == 4.65


def test_effective_bits_are_ordered_by_quality_and_size() -> None:
    ids = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "F16"]
    bits = [normalize_quant(i).bits_per_weight for i in ids]
    penalties = [normalize_quant(i).quality_penalty for i in ids]
    assert bits == sorted(bits)
    assert penalties == sorted(penalties, reverse=True)


def test_unknown_quant_is_flagged_and_assumed_16_bit() -> None:
    spec = normalize_quant("Q7_Z_MAGIC")
    assert not spec.known and spec.bits_per_weight == UNKNOWN_BITS_PER_WEIGHT
    assert spec.id == "Q7_Z_MAGIC"


@settings(deadline=None)
@given(st.text(max_size=24))
def test_no_quant_id_is_estimated_smaller_than_q8_0_unless_known(raw: str) -> None:
    spec = normalize_quant(raw)
    if not spec.known:
        assert spec.bits_per_weight >= Q8_0_BITS
    assert 0 <= spec.quality_penalty < 1


@pytest.mark.parametrize(("filename", "quant"), [
    ("Qwen3-8B-Q4_K_M.gguf", "Q4_K_M"),
    ("SmolLM2-135M-Instruct.Q4_1.gguf", "Q4_1"),
    ("openai_gpt-oss-20b-MXFP4.gguf", "MXFP4"),
    ("Qwen3-30B-A3B-UD-Q4_K_XL.gguf", "Q4_K_XL"),
    ("Meta-Llama-3.1-70B-Instruct-Q8_0-00001-of-00002.gguf", "Q8_0"),
    ("Qwen_Qwen3-14B-bf16.gguf", "BF16"),
    ("llama-3.2-1b-instruct-q4_k_m.gguf", "Q4_K_M"),
])
def test_quant_from_filename(filename: str, quant: str) -> None:
    assert quant_from_filename(filename) == quant


def test_filename_without_a_quant() -> None:
    assert quant_from_filename("model.gguf") is None
