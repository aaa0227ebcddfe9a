"""Hardware facts for a trial: the NVML energy counter behind a small reader, peak FLOP/s, metadata.

NVML numbers GPUs in PCI order and ignores ``CUDA_VISIBLE_DEVICES``; torch numbers the visible GPUs
in ``CUDA_DEVICE_ORDER`` (``FASTEST_FIRST`` unless set). ``nvml_locator`` maps a torch device to
NVML by PCI bus id (exact), else by UUID, else by an index only where the mapping is unambiguous.
NVML measures the whole GPU: never run two trials on one GPU.

Peak dense tensor-core throughput (no 2:4 sparsity), TFLOP/s, from NVIDIA's data sheets
(sparse figures halved): H100 SXM5 / H200 SXM (same GH100 chip and clocks): bf16/fp16 989.4,
tf32 494.7, fp32 66.9; H100 PCIe: 756.5 / 378 / 51.2; H100 NVL and H200 NVL: 835.5 / 417.5 / 60;
A100 (SXM and PCIe, 40/80 GB): 312 / 156 / 19.5; A10: 125 / 62.5 / 31.2; L4: 121 / 60 / 30.3;
L40S: 362 / 183 / 91.6; V100 SXM2: fp16 125, fp32 15.7; V100 PCIe: 112 / 14; T4: fp16 65, fp32 8.1.
V100 and T4 have no bf16 tensor cores (None). Unknown GPUs and CPUs give None, never a guess.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import torch

from harness import __version__

ROOT = Path(__file__).resolve().parents[2]

# NVML clock-event ("throttle") reason bits, from nvml.h (nvmlClocksEventReason*). GpuIdle (0x1) is
# left out: after the synchronise at a window edge the GPU is idle by construction.
THROTTLE_BITS = {
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}

# (pattern on torch.cuda.get_device_name, dense TFLOP/s by precision); first match wins.
_PEAKS: list[tuple[str, dict[str, float | None]]] = [
    (r"H[12]00.*NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}),
    (r"H100.*PCIe", {"bf16": 756.5, "fp16": 756.5, "tf32": 378.0, "fp32": 51.2}),
    (r"H[12]00", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9}),
    (r"A100", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5}),
    (r"L40S", {"bf16": 362.0, "fp16": 362.0, "tf32": 183.0, "fp32": 91.6}),
    (r"\bL4\b", {"bf16": 121.0, "fp16": 121.0, "tf32": 60.0, "fp32": 30.3}),
    (r"\bA10\b", {"bf16": 125.0, "fp16": 125.0, "tf32": 62.5, "fp32": 31.2}),
    (r"V100.*PCIE", {"bf16": None, "fp16": 112.0, "tf32": None, "fp32": 14.0}),
    (r"V100", {"bf16": None, "fp16": 125.0, "tf32": None, "fp32": 15.7}),
    (r"\bT4\b", {"bf16": None, "fp16": 65.0, "tf32": None, "fp32": 8.1}),
]


def peak_flops(device_name: str, precision: str) -> float | None:
    """Dense peak FLOP/s of a GPU named ``device_name`` at ``precision`` (bf16|fp16|tf32|fp32), or None."""
    for pattern, peaks in _PEAKS:
        if re.search(pattern, device_name, flags=re.IGNORECASE):
            tflops = peaks.get(precision)
            return None if tflops is None else tflops * 1e12
    return None


def matmul_precision(dtype: torch.dtype) -> str:
    """The precision a matmul in ``dtype`` runs at (fp32 uses TF32 unless the precision is "highest")."""
    if dtype == torch.bfloat16:
        return "bf16"
    if dtype == torch.float16:
        return "fp16"
    return "fp32" if torch.get_float32_matmul_precision() == "highest" else "tf32"


def mfu(flops_per_s: float, device: torch.device, dtype: torch.dtype) -> float | None:
    """Model FLOPs utilisation: achieved / dense peak FLOP/s; None on CPU or an unknown GPU."""
    if device.type != "cuda":
        return None
    peak = peak_flops(torch.cuda.get_device_name(device), matmul_precision(dtype))
    return None if peak is None else flops_per_s / peak


# ---------------------------------------------------------------------------------------------- NVML


class GpuReader(Protocol):
    """What the Meter reads from a GPU; ``NvmlReader`` reads NVML, tests replay recorded readings."""

    def energy_mj(self) -> int: ...  # total energy since driver load, millijoules

    def power_limit_w(self) -> float | None: ...

    def temperature_c(self) -> float | None: ...

    def throttle_reasons(self) -> int: ...  # bit mask, THROTTLE_BITS

    def close(self) -> None: ...


def nvml_locator(index: int, props: Any, env: Mapping[str, str], nvml_count: int) -> tuple[str, Any]:
    """How to find torch's CUDA device ``index`` in NVML: ``("pci", "0000:65:00.0")``, ``("uuid", ...)``
    or ``("index", k)``. Raises LookupError where the mapping is ambiguous.

    Args:
        index: the torch device index (among visible devices).
        props: ``torch.cuda.get_device_properties(index)`` (PCI ids, uuid), or None.
        env: the environment (``CUDA_VISIBLE_DEVICES``, ``CUDA_DEVICE_ORDER``).
        nvml_count: GPUs NVML sees.
    """
    if props is not None and hasattr(props, "pci_bus_id") and hasattr(props, "pci_device_id"):
        domain = getattr(props, "pci_domain_id", 0)
        return "pci", f"{domain:04x}:{props.pci_bus_id:02x}:{props.pci_device_id:02x}.0"
    uuid = str(getattr(props, "uuid", "") or "")
    if uuid:
        return "uuid", uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"
    visible = [v.strip() for v in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    entry = visible[index] if "CUDA_VISIBLE_DEVICES" in env and index < len(visible) else None
    if entry is not None and entry.startswith(("GPU-", "MIG-")):
        return "uuid", entry
    pci_order = env.get("CUDA_DEVICE_ORDER", "FASTEST_FIRST") == "PCI_BUS_ID"
    if entry is not None and entry.isdigit() and (pci_order or nvml_count == 1):
        return "index", int(entry)
    if "CUDA_VISIBLE_DEVICES" not in env and (pci_order or nvml_count == 1):
        return "index", index
    raise LookupError(f"cannot map CUDA device {index} to NVML (set CUDA_DEVICE_ORDER=PCI_BUS_ID)")


class NvmlReader:
    """One GPU through nvidia-ml-py (``import pynvml``); holds one nvmlInit until ``close``."""

    def __init__(self, nvml: Any, handle: Any):
        self._nvml, self._handle = nvml, handle

    def energy_mj(self) -> int:
        return int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))

    def power_limit_w(self) -> float | None:
        return self._nvml.nvmlDeviceGetEnforcedPowerLimit(self._handle) / 1000.0

    def temperature_c(self) -> float | None:
        return float(self._nvml.nvmlDeviceGetTemperature(self._handle, self._nvml.NVML_TEMPERATURE_GPU))

    def throttle_reasons(self) -> int:
        get = getattr(self._nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
        get = get or self._nvml.nvmlDeviceGetCurrentClocksThrottleReasons
        return int(get(self._handle))

    def close(self) -> None:
        self._nvml.nvmlShutdown()


def open_nvml_reader(device: torch.device) -> tuple[NvmlReader | None, str | None]:
    """The NVML reader of a CUDA ``device``, or ``(None, why)`` (no driver, pre-Volta, no mapping)."""
    try:
        import pynvml
    except ImportError:
        return None, "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return None, f"NVML unavailable: {type(exc).__name__}: {exc}"
    try:
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        kind, key = nvml_locator(index, props, os.environ, pynvml.nvmlDeviceGetCount())
        if kind == "pci":
            handle = pynvml.nvmlDeviceGetHandleByPciBusId(key)
        elif kind == "uuid":
            handle = pynvml.nvmlDeviceGetHandleByUUID(key)
        else:
            handle = pynvml.nvmlDeviceGetHandleByIndex(key)
        reader = NvmlReader(pynvml, handle)
        reader.energy_mj()  # NVMLError_NotSupported before Volta
        return reader, None
    except Exception as exc:
        pynvml.nvmlShutdown()
        return None, f"NVML energy counter unavailable: {type(exc).__name__}: {exc}"


def throttle_names(mask: int) -> list[str]:
    return [name for bit, name in THROTTLE_BITS.items() if mask & bit]


# ------------------------------------------------------------------------------------------- memory


def _vmhwm_bytes() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class PeakRss:
    """Peak resident memory of this process between ``start`` and ``stop``.

    ``ru_maxrss`` is the process lifetime peak. Linux lets a process reset its high-water mark
    (``5 > /proc/self/clear_refs``, Linux >= 4.0); ``VmHWM`` is then the exact peak since the reset
    (``method = "vmhwm"``). Where that is not allowed, a thread samples RSS every ``interval_s``
    (``"rss_sampled"``: a lower bound, spikes shorter than the interval are missed). Child processes
    (data-loader workers) are not counted.
    """

    def __init__(self, interval_s: float = 0.05):
        self.method: str | None = None
        self._interval, self._peak = interval_s, 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            if _vmhwm_bytes() is not None:
                self.method = "vmhwm"
                return
        except OSError:
            pass
        import psutil

        proc = psutil.Process()
        self.method, self._peak = "rss_sampled", proc.memory_info().rss

        def sample() -> None:
            while not self._stop.wait(self._interval):
                self._peak = max(self._peak, proc.memory_info().rss)

        self._thread = threading.Thread(target=sample, name="peak-rss", daemon=True)
        self._thread.start()

    def stop(self) -> int | None:
        if self.method == "vmhwm":
            return _vmhwm_bytes()
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            import psutil

            return max(self._peak, psutil.Process().memory_info().rss)
        return None



# ------------------------------------------------------------------------------------------ contention


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def contention(loads: list[float]) -> dict:
    """``threads`` (torch intra-op), ``load_avg`` (the highest 1-minute load average sampled during the trial) and
    ``contended`` = load_avg > cores: runnable threads waited for a core, so wall-clock is not the method's."""
    load = max(loads) if loads else None
    return {"threads": torch.get_num_threads(), "load_avg": load,
            "contended": None if load is None else bool(load > cores())}


def load_avg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


# ------------------------------------------------------------------------------------------ metadata


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_state() -> tuple[str | None, bool | None]:
    """``(sha, dirty)`` of the harness checkout; ``(None, None)`` outside a git checkout."""
    sha = _git("rev-parse", "HEAD")
    if sha is None:
        return None, None
    status = _git("status", "--porcelain")  # untracked files count: a new method file changes results
    return sha.strip(), None if status is None else bool(status.strip())


def _nvml_driver() -> str | None:
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return None
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        return driver.decode() if isinstance(driver, bytes) else str(driver)
    except Exception:
        return None
    finally:
        pynvml.nvmlShutdown()


def hardware_metadata(device: torch.device) -> dict:
    """Provenance columns of a result row, plus ``cuda_version``, ``cpu_count``, ``os``."""
    cuda = device.type == "cuda"
    sha, dirty = git_state()
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if cuda else cpu_model(),
        "gpu_count": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "driver": _nvml_driver() if cuda else None,
        "cuda_version": torch.version.cuda,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "os": platform.platform(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version() or sys.version.split()[0],
        "git_sha": sha,
        "git_dirty": dirty,
        "harness_version": __version__,
    }
