"""Local truth for a host on this machine (swapdeck.sources.local): NVML and psutil."""

from __future__ import annotations

import time

import pytest

from swapdeck.events import UNKNOWN
from swapdeck.sources.local import (
    CPU_MIN_INTERVAL_S,
    NO_DRIVER,
    LocalProbe,
    describe_nvml_error,
    gpu_sample_from_nvml,
    is_local_url,
    sys_sample_from_psutil,
)

from .conftest import NOW


@pytest.mark.parametrize(("url", "local"), [
    ("http://127.0.0.1:8080", True),
    ("http://127.0.0.53:8080", True),
    ("http://localhost:8080/", True),
    ("http://[::1]:8080", True),
    ("https://LocalHost", True),
    ("http://workstation:8080", True),  # this machine's own name
    ("http://Workstation.:8080", True),
    ("http://gpu-a.lan:8080", False),
    ("http://10.0.0.7:8080", False),
    ("not a url", False),
    ("http://[::1", False),
])
def test_is_local_url(url: str, local: bool) -> None:
    assert is_local_url(url, {"workstation"}) is local


def test_gpu_sample_from_nvml_units_and_unknowns() -> None:
    sample = gpu_sample_from_nvml(NOW, 1, name=b"NVIDIA GeForce RTX 4090", uuid="GPU-1",
                                  mem_used_bytes=12 * 1024**3, mem_total_bytes=24 * 1024**3,
                                  util_pct=87, mem_util_pct=None, temp_c=71, power_mw=320_500,
                                  fan_pct=None)
    assert sample.name == "NVIDIA GeForce RTX 4090"
    assert (sample.mem_used_mb, sample.mem_total_mb) == (12288.0, 24576.0)
    assert sample.power_w == 320.5 and sample.util_pct == 87 and sample.temp_c == 71
    assert sample.mem_util_pct == UNKNOWN and sample.fan_pct == UNKNOWN  # "not supported"


def test_sys_sample_from_psutil() -> None:
    sample = sys_sample_from_psutil(NOW, per_core_pct=[10.0, 30.0], mem_total_bytes=64 * 1024**3,
                                    mem_used_bytes=16 * 1024**3, swap_total_bytes=0,
                                    swap_used_bytes=0, load_avg=(1.5, 1.0, 0.5))
    assert sample.cpu_util == 20.0 and sample.mem_used_mb == 16384.0
    assert sample.load_avg_1 == 1.5


def test_nvml_errors_become_words() -> None:
    class NVMLError_LibraryNotFound(Exception):  # named like pynvml's own class
        pass

    class NVMLError_NoPermission(Exception):
        pass

    assert describe_nvml_error(NVMLError_LibraryNotFound()) == NO_DRIVER
    assert "permission denied" in describe_nvml_error(NVMLError_NoPermission())
    assert describe_nvml_error(RuntimeError("Unknown Error")) == "NVML error: Unknown Error"


def test_probe_reads_this_machine_without_raising() -> None:
    probe = LocalProbe()
    try:
        first = probe.read(NOW)  # right after priming psutil: CPU unknown, not a fake 0/100
        time.sleep(CPU_MIN_INTERVAL_S)
        second = probe.read(NOW + 1)
    finally:
        probe.close()
    assert first.sys is not None and first.sys.cpu_util_per_core == ()
    for reading in (first, second):
        # Either the GPUs, or the reason there are none — never an empty silence.
        assert reading.gpus or reading.gpu_error
        assert all(g.mem_total_mb > 0 for g in reading.gpus)
        assert reading.sys is not None and reading.sys.mem_total_mb > 0
    assert second.sys is not None and second.sys.cpu_util_per_core  # primed: a measurement
    assert probe.read(NOW + 2).gpu_error  # after close: says so, does not raise
