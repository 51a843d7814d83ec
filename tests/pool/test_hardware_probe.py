"""Probing from recorded outputs, the never-raises fallback, the 24 h cache and the override."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from swapdeck.pool.hardware import (
    OVERRIDE_SOURCE,
    Backend,
    HardwareFileError,
    apply_override,
    load_profile_file,
    profile_from_json,
    profile_to_json,
)
from swapdeck.pool.hardware_parsers import GIB, MIB, ParsedGpu
from swapdeck.pool.hardware_probe import (
    CACHE_FILE,
    ProbeEnvironment,
    load_hardware_profile,
    probe_hardware,
)
from swapdeck.pool.settings import GpuOverride, HardwareOverride

HARDWARE = Path(__file__).parent / "fixtures" / "hardware"
NOW = 1_760_000_000.0


def recorded(name: str) -> str:
    return (HARDWARE / name).read_text(encoding="utf-8")


def box(
    outputs: Mapping[str, str],
    *,
    platform: str = "linux",
    ram: int = 64 * GIB,
    files: Mapping[str, str] | None = None,
    nvml: Callable[[], tuple[ParsedGpu, ...]] | None = None,
) -> ProbeEnvironment:
    """A machine whose commands print recorded outputs; a command not listed is not installed."""

    def run(argv: Sequence[str]) -> str:
        if argv[0] not in outputs:
            raise FileNotFoundError(2, "No such file or directory", argv[0])
        return outputs[argv[0]]

    def read_text(path: str) -> str:
        if files is None or path not in files:
            raise FileNotFoundError(2, "No such file or directory", path)
        return files[path]

    return ProbeEnvironment(platform=platform, run=run, nvml=nvml, total_ram=lambda: ram,
                            read_text=read_text, fallback_cpu_name=lambda: "")


def test_rtx3090_box_gets_the_published_bandwidth_with_its_source() -> None:
    env = box({"nvidia-smi": recorded("nvidia_smi_rtx3090.csv"),
               "lscpu": recorded("lscpu_i7_1165g7.txt")})
    profile = probe_hardware(NOW, env)
    (gpu,) = profile.gpus
    assert gpu.vram_bytes == 24 * GIB
    assert gpu.bandwidth_gbs == 936.2
    assert gpu.bandwidth_source is not None and "19.5 Gbps" in gpu.bandwidth_source
    assert profile.backend is Backend.CUDA
    assert profile.probed_at == NOW
    assert profile.warnings == ()


def test_two_rtx4090_are_kept_as_two_cards() -> None:
    profile = probe_hardware(NOW, box({"nvidia-smi": recorded("nvidia_smi_2x_rtx4090.csv")}))
    assert [g.bandwidth_gbs for g in profile.gpus] == [1008, 1008]
    assert profile.total_vram_bytes == 2 * 24564 * MIB


def test_a100_sxm4_80gb() -> None:
    profile = probe_hardware(NOW, box({"nvidia-smi": recorded("nvidia_smi_a100_sxm4_80gb.csv")}))
    assert profile.gpus[0].bandwidth_gbs == 2039


def test_unknown_gpu_gets_no_bandwidth_and_a_warning() -> None:
    profile = probe_hardware(NOW, box({"nvidia-smi": recorded("nvidia_smi_unknown_gpu.csv")}))
    (gpu,) = profile.gpus
    assert gpu.bandwidth_gbs is None and gpu.bandwidth_source is None
    assert gpu.bandwidth_warning is not None and "NVIDIA Graphics Device" in gpu.bandwidth_warning
    assert gpu.bandwidth_warning in profile.all_warnings


def test_nvml_is_asked_first_and_nvidia_smi_is_the_fallback() -> None:
    from_nvml = probe_hardware(NOW, box({}, nvml=lambda: (ParsedGpu("NVIDIA L4", 23034 * MIB),)))
    assert [g.name for g in from_nvml.gpus] == ["NVIDIA L4"]

    def broken_nvml() -> tuple[ParsedGpu, ...]:
        raise RuntimeError("NVML Shared Library Not Found")

    fallback = probe_hardware(NOW, box({"nvidia-smi": recorded("nvidia_smi_rtx3090.csv")},
                                       nvml=broken_nvml))
    assert [g.name for g in fallback.gpus] == ["NVIDIA GeForce RTX 3090"]


def test_m2_max_is_unified_with_the_gpu_working_set_limit() -> None:
    env = box({"system_profiler": recorded("system_profiler_m2_max.json"),
               "sysctl": recorded("sysctl_m2_max.txt")}, platform="darwin")
    profile = probe_hardware(NOW, env)
    (gpu,) = profile.gpus
    assert gpu.name == "Apple M2 Max" and gpu.bandwidth_gbs == 400
    assert gpu.vram_bytes == int(32 * GIB * 2 / 3)
    assert profile.unified_memory and profile.backend is Backend.METAL
    assert profile.ram_bytes == 32 * GIB and profile.cpu_cores == 12
    assert profile.cpu_bandwidth_gbs == 240  # the CPU clusters reach ~60 % of unified memory


def test_epyc_cpu_only_box_has_a_cpu_bandwidth_and_a_socket_note() -> None:
    env = box({"lscpu": recorded("lscpu_epyc_7763_2s.txt")}, ram=528157880 * 1024)
    profile = probe_hardware(NOW, env)
    assert profile.gpus == () and profile.backend is Backend.CPU
    assert profile.cpu_bandwidth_gbs == 204.8
    assert "DDR4-3200" in profile.cpu_bandwidth_source
    assert any("2 CPU sockets" in w for w in profile.warnings)


def test_laptop_falls_back_to_proc_files_when_lscpu_and_psutil_fail() -> None:
    def no_psutil() -> int:
        raise RuntimeError("psutil unavailable")

    env = box({}, files={"/proc/cpuinfo": recorded("cpuinfo_i7_1165g7.txt"),
                         "/proc/meminfo": recorded("meminfo_laptop_16g.txt")})
    env = ProbeEnvironment(platform=env.platform, run=env.run, nvml=None, total_ram=no_psutil,
                           read_text=env.read_text, fallback_cpu_name=lambda: "")
    profile = probe_hardware(NOW, env)
    assert profile.cpu_name.endswith("i7-1165G7 @ 2.80GHz") and profile.cpu_cores == 4
    assert profile.ram_bytes == 16165456 * 1024
    assert profile.cpu_bandwidth_gbs == 51.2


@pytest.mark.parametrize("name", ["nvidia_smi_driver_failure.txt", "nvidia_smi_garbled.txt"])
def test_broken_nvidia_output_falls_back_to_cpu_with_a_warning(name: str) -> None:
    profile = probe_hardware(NOW, box({"nvidia-smi": recorded(name)}))
    assert profile.gpus == () and profile.backend is Backend.CPU
    assert any(w.startswith("NVIDIA probe failed") for w in profile.warnings)


def test_truncated_system_profiler_falls_back_to_cpu_with_a_warning() -> None:
    env = box({"system_profiler": recorded("system_profiler_truncated.json")}, platform="darwin")
    profile = probe_hardware(NOW, env)
    assert profile.gpus == ()
    assert any(w.startswith("macOS probe failed") for w in profile.warnings)


def test_probe_never_raises_even_when_everything_fails() -> None:
    def explode(*_: object) -> str:
        raise MemoryError("boom")

    def no_ram() -> int:
        raise MemoryError("boom")

    env = ProbeEnvironment(platform="linux", run=explode, nvml=None, total_ram=no_ram,
                           read_text=explode, fallback_cpu_name=explode)
    profile = probe_hardware(NOW, env)
    assert profile.gpus == () and profile.backend is Backend.CPU
    assert profile.ram_bytes > 0
    assert any("probe failed" in w for w in profile.all_warnings)


def test_probe_on_this_machine_never_raises() -> None:
    profile = probe_hardware(NOW)
    assert profile.ram_bytes > 0 and profile.cpu_cores >= 1


class CountingEnv:
    def __init__(self, output: str) -> None:
        self.calls = 0
        self.output = output

    def env(self) -> ProbeEnvironment:
        def run(argv: Sequence[str]) -> str:
            if argv[0] == "nvidia-smi":
                self.calls += 1
                return self.output
            raise FileNotFoundError(argv[0])

        return ProbeEnvironment(platform="linux", run=run, nvml=None, total_ram=lambda: 32 * GIB,
                                read_text=lambda p: "", fallback_cpu_name=lambda: "x")


def test_cache_is_reused_for_24_hours_then_probed_again(tmp_path: Path) -> None:
    counter = CountingEnv(recorded("nvidia_smi_rtx3090.csv"))
    first = load_hardware_profile(tmp_path, now=NOW, env=counter.env())
    again = load_hardware_profile(tmp_path, now=NOW + 23.9 * 3600, env=counter.env())
    assert counter.calls == 1 and again == first
    assert (tmp_path / CACHE_FILE).exists()
    later = load_hardware_profile(tmp_path, now=NOW + 24 * 3600, env=counter.env())
    assert counter.calls == 2 and later.probed_at == NOW + 24 * 3600


def test_corrupt_cache_is_probed_again(tmp_path: Path) -> None:
    (tmp_path / CACHE_FILE).write_text("{not json", encoding="utf-8")
    counter = CountingEnv(recorded("nvidia_smi_rtx3090.csv"))
    profile = load_hardware_profile(tmp_path, now=NOW, env=counter.env())
    assert counter.calls == 1 and profile.gpus[0].bandwidth_gbs == 936.2


def test_unwritable_cache_is_a_warning_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("", encoding="utf-8")
    profile = load_hardware_profile(blocker, now=NOW,
                                    env=CountingEnv(recorded("nvidia_smi_rtx3090.csv")).env())
    assert any("could not cache" in w for w in profile.warnings)


def test_override_wins_field_by_field_and_is_applied_after_the_cache(tmp_path: Path) -> None:
    env = CountingEnv(recorded("nvidia_smi_rtx3090.csv")).env()
    load_hardware_profile(tmp_path, now=NOW, env=env)
    override = HardwareOverride(ram_gb=128, cpu_bandwidth_gbs=90.0)
    profile = load_hardware_profile(tmp_path, now=NOW + 60, env=env, override=override)
    assert profile.ram_bytes == 128 * GIB
    assert profile.cpu_bandwidth_gbs == 90.0 and profile.cpu_bandwidth_source == OVERRIDE_SOURCE
    assert profile.gpus[0].name == "NVIDIA GeForce RTX 3090"  # not overridden: probe's value


def test_override_gpus_look_up_bandwidth_or_take_the_users_figure() -> None:
    base = probe_hardware(NOW, box({}))
    override = HardwareOverride(gpus=(GpuOverride(name="RTX 3060", vram_gb=12),
                                      GpuOverride(name="Mystery X", vram_gb=16, bandwidth_gbs=500)),
                                cpu_name="AMD Ryzen 9 7950X", unified_memory=False)
    profile = apply_override(base, override)
    first, second = profile.gpus
    assert first.bandwidth_gbs == 360 and first.vram_bytes == 12 * GIB
    assert second.bandwidth_gbs == 500 and second.bandwidth_source == OVERRIDE_SOURCE
    assert profile.cpu_bandwidth_gbs == 83.2 and profile.cpu_bandwidth_warning is None
    assert profile.backend is Backend.CUDA


def test_profile_json_round_trip_and_fingerprint_ignores_the_probe_time() -> None:
    profile = probe_hardware(NOW, box({"nvidia-smi": recorded("nvidia_smi_2x_rtx4090.csv")}))
    data = json.loads(json.dumps(profile_to_json(profile)))
    assert profile_from_json(data) == profile
    later = probe_hardware(NOW + 999, box({"nvidia-smi": recorded("nvidia_smi_2x_rtx4090.csv")}))
    assert later.fingerprint == profile.fingerprint


def test_hand_written_profile_file_gets_bandwidth_from_the_table(tmp_path: Path) -> None:
    path = tmp_path / "box.json"
    path.write_text(json.dumps({
        "gpus": [{"name": "NVIDIA GeForce RTX 4090", "vram_bytes": 24 * GIB}],
        "ram_bytes": 64 * GIB, "cpu_name": "AMD Ryzen 9 7950X", "cpu_cores": 16,
    }), encoding="utf-8")
    profile = load_profile_file(path)
    assert profile.gpus[0].bandwidth_gbs == 1008 and profile.cpu_bandwidth_gbs == 83.2


@pytest.mark.parametrize(("content", "message"), [
    ("[]", "expected a JSON object"),
    ('{"ram_bytes": 1, "gpus": []}', "cpu_name: expected a string"),
    ('{"ram_bytes": -5, "cpu_name": "x"}', "ram_bytes: expected a positive"),
    ('{"ram_bytes": 5, "cpu_name": "x", "gpus": [{"name": "A", "vram_bytes": "lots"}]}',
     r"gpus\[0\]: vram_bytes: expected a number"),
    ("{oops", "expected JSON"),
    ('{"ram_bytes": 5, "cpu_name": "x", "cpu_cores": "many"}', "cpu_cores: expected a number"),
    ('{"ram_bytes": 5, "cpu_name": "x", "unified_memory": "yes"}', "unified_memory: expected"),
    ('{"ram_bytes": 5, "cpu_name": "x", "backend": "quantum"}', "backend: expected one of"),
])
def test_bad_profile_files_fail_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(HardwareFileError, match=message) as caught:
        load_profile_file(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
