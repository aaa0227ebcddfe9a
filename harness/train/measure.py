"""Measurement of one trial: timed windows, step times, energy, emissions and peak memory.

The trainer wraps one trial's timed windows in one ``Meter``::

    meter = Meter(device)          # cheap; after the untimed warm-up:
    meter.start()                  # CodeCarbon set-up (about 1 s, once per trial) is off the clock
    ...  meter.step() after every optimizer step  ...
    meter.pause()                  # stop the clock; evaluate; meter.elapsed_s(), meter.energy_so_far_j()
    meter.resume()                 # start the clock
    row.update(meter.stop())

Window edges: ``torch.cuda.synchronize`` on CUDA, then ``time.perf_counter``, then the NVML counter
(resume reads the counter before the clock starts, pause after it stops).

``energy_method`` vocabulary:
    nvml       measured: the NVML total-energy counter of the trial's GPU (Volta+), summed over the
               timed windows; ``energy_j`` is that GPU's energy.
    estimated  CodeCarbon's model, CPU trials only: ``energy_j = cpu_energy_j + ram_energy_j``.
    none       ``energy_j`` is None: a GPU without NVML never falls back to an estimate, and a CPU
               trial without CodeCarbon (off, or failed) has nothing.
``energy_window_reliable``: the counter updates about every 100 ms, so each window's delta is off by
up to 0.1 s of power; over n windows of total length T the bound is n * 0.1 / T, at most 2% when the
mean window is at least 5 s (a single window: at least 5 s). Shorter means unreliable (False).

CodeCarbon 3.3.2 on this machine (AMD EPYC, no /sys/class/powercap): no RAPL, and the CPU is not in
its TDP table, so it models 4 W per thread (2 threads: 8 W) in ``cpu_load`` mode; with
``tracking_mode="process"`` (used here, so other processes' load is not billed to the trial) CPU
power = 8 W x this process's CPU share; RAM is 5 W per DIMM guessed from the process's memory, at
least 10 W on x86. Both are estimates; the CPU mode is recorded in ``cpu_power_source``. One
CodeCarbon task per timed window (``start_task``/``stop_task``, 1-30 ms each, called outside the
clock), so eval is excluded; its 1 Hz sampler thread takes about 0.4% of a core inside windows
(benchmarks/measure_overhead.py). ``emissions_kg`` = CodeCarbon's grid intensity for the country
(its emissions / its energy) x (NVML GPU energy + CPU + RAM estimates).

Peak memory (``peak_mem_method``), start to stop, eval included (eval memory is a real need):
CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` (``cuda_max_allocated``);
CPU: the process's RSS high-water mark, reset at start (``vmhwm``; ``hardware.PeakRss``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from harness.train.hardware import GpuReader, PeakRss, open_nvml_reader, throttle_names

MIN_RELIABLE_WINDOW_S = 5.0
_J_PER_KWH = 3.6e6


class StepTimer:
    """Per-step times over the timed windows; ``percentiles()`` gives p50 and p90 in ms.

    A boundary is marked at the window start and after every step; a step is the time between two
    boundaries. CPU: ``perf_counter`` (about 0.1 us). CUDA: one ``torch.cuda.Event`` per boundary
    (a few us of host time, no host synchronisation, GPU-side timestamps); finished events are
    resolved every 512 steps without blocking (``Event.query``), the rest at ``pause`` after the
    Meter's synchronise. Steps marked outside a window are not timed.
    """

    _DRAIN = 512

    def __init__(self, device: torch.device, clock: Callable[[], float] = time.perf_counter):
        self._cuda = torch.device(device).type == "cuda"
        self._device, self._clock = torch.device(device), clock
        self._times: list[float] = []
        self._pending: list[tuple[Any, Any]] = []
        self._last: Any = None
        self._stream: Any = None

    def _mark(self) -> Any:
        if not self._cuda:
            return self._clock()
        event = torch.cuda.Event(enable_timing=True)
        event.record(self._stream)
        return event

    def start(self) -> None:
        if self._cuda and self._stream is None:
            self._stream = torch.cuda.current_stream(self._device)
        self._last = self._mark()

    def step(self) -> None:
        if self._last is None:
            return
        now = self._mark()
        if self._cuda:
            self._pending.append((self._last, now))
            if len(self._pending) >= self._DRAIN:
                self._drain(block=False)
        else:
            self._times.append((now - self._last) * 1e3)
        self._last = now

    def pause(self) -> None:
        self._drain(block=True)
        self._last = None

    def _drain(self, block: bool) -> None:
        if block and self._pending:
            self._pending[-1][1].synchronize()
        done = 0
        for begin, end in self._pending:  # events complete in stream order
            if not (block or end.query()):
                break
            self._times.append(begin.elapsed_time(end))
            done += 1
        del self._pending[:done]

    def times_ms(self) -> list[float]:
        return list(self._times)

    def percentiles(self) -> tuple[float | None, float | None]:
        if not self._times:
            return None, None
        p50, p90 = np.percentile(self._times, [50, 90])
        return float(p50), float(p90)


def _make_tracker(country_iso_code: str) -> Any:
    """CodeCarbon's offline tracker (no geolocation over the network), quiet, writing no files."""
    from codecarbon import OfflineEmissionsTracker

    logging.getLogger("codecarbon").setLevel(logging.ERROR)  # after the import, which resets it

    kwargs = {"country_iso_code": country_iso_code, "log_level": "error", "tracking_mode": "process"}
    try:
        return OfflineEmissionsTracker(output_methods=[], **kwargs)  # codecarbon >= 3.2: write nothing
    except TypeError:
        return OfflineEmissionsTracker(save_to_file=False, **kwargs)


class _Carbon:
    """CodeCarbon over the timed windows, one task per window. Never raises: a failure anywhere
    (import, construction, ``start_task``, ``stop_task`` returning None) drops all its numbers."""

    def __init__(self, country_iso_code: str):
        self.country, self.tracker, self.error = country_iso_code, None, None
        self.cpu_kwh = self.ram_kwh = self.energy_kwh = self.emissions_kg = 0.0
        self.windows, self.cpu_mode, self.stop_error = 0, None, None

    @property
    def ok(self) -> bool:
        return self.error is None and self.windows > 0

    def open(self) -> None:
        if self.error is not None:
            return
        try:
            if self.tracker is None:
                self.tracker = _make_tracker(self.country)
            self.tracker.start_task()
        except Exception as exc:
            self.error = f"codecarbon start: {type(exc).__name__}: {exc}"

    def close(self) -> None:
        if self.error is not None or self.tracker is None:
            return
        try:
            data = self.tracker.stop_task()
            if data is None:
                raise RuntimeError("stop_task returned None")
            self.cpu_kwh += float(data.cpu_energy)
            self.ram_kwh += float(data.ram_energy)
            self.energy_kwh += float(data.energy_consumed)
            self.emissions_kg += float(data.emissions)
            self.windows += 1
        except Exception as exc:
            self.error = f"codecarbon stop_task: {type(exc).__name__}: {exc}"

    def finish(self) -> None:
        if self.tracker is None:
            return
        for hw in getattr(self.tracker, "_hardware", []):  # how the CPU figure was made
            if type(hw).__name__ == "CPU":
                self.cpu_mode = str(getattr(hw, "_mode", None))
        try:
            self.tracker.stop()  # releases its threads; the windows' figures are already summed
        except Exception as exc:
            self.stop_error = f"codecarbon stop: {type(exc).__name__}: {exc}"

    def intensity_kg_per_kwh(self) -> float | None:
        return self.emissions_kg / self.energy_kwh if self.ok and self.energy_kwh > 0 else None


def _safe(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception:
        return None


class Meter:
    """Clock, step times, energy, emissions and peak memory over the timed windows of one trial.

    Args:
        device: the trial's device.
        codecarbon: run CodeCarbon (CPU/RAM estimates, emissions); a failure never breaks a trial.
        country_iso_code: the grid whose carbon intensity converts energy to emissions.
        gpu_reader: ``"auto"`` opens NVML for a CUDA device; a ``GpuReader`` (tests replay recorded
            readings) makes the trial a GPU trial whatever the device; None disables it.
        clock: the wall clock (``time.perf_counter``).
    """

    def __init__(
        self,
        device: torch.device | str,
        codecarbon: bool = True,
        country_iso_code: str = "USA",
        *,
        gpu_reader: GpuReader | str | None = "auto",
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.device = torch.device(device)
        self._cuda = self.device.type == "cuda"
        self._gpu_trial = self._cuda or gpu_reader not in ("auto", None)
        self._reader_arg, self._reader = gpu_reader, None
        self._clock = clock
        self._carbon = _Carbon(country_iso_code) if codecarbon else None
        self._rss = PeakRss()
        self.steps = StepTimer(self.device, clock)
        self._windows: list[float] = []
        self._window_j: list[float] = []
        self._t0 = self._e0 = None
        self._throttle = 0
        self._power_limit = self._temp_start = None
        self._warnings: list[str] = []
        self._state = "new"

    # -- window edges ------------------------------------------------------------------------------

    def _sync(self) -> None:
        if self._cuda:
            torch.cuda.synchronize(self.device)

    def _energy_mj(self) -> int | None:
        if self._reader is None:
            return None
        try:
            return self._reader.energy_mj()
        except Exception as exc:
            self._drop_reader(f"NVML energy read failed: {type(exc).__name__}: {exc}")
            return None

    def _drop_reader(self, why: str) -> None:
        self._warnings.append(why)
        self._window_j = []
        if self._reader is not None:
            _safe(self._reader.close)
        self._reader = None

    def _open(self) -> None:
        self._sync()
        if self._carbon is not None:
            self._carbon.open()
        self._e0 = self._energy_mj()
        self._t0 = self._clock()
        self.steps.start()

    def _close(self) -> None:
        self._sync()
        t1 = self._clock()
        self.steps.pause()
        self._windows.append(t1 - self._t0)
        e1 = self._energy_mj()
        if e1 is not None and self._e0 is not None:
            if e1 < self._e0:
                self._drop_reader(f"NVML energy counter went backwards ({self._e0} -> {e1} mJ)")
            else:
                self._window_j.append((e1 - self._e0) / 1000.0)
                self._throttle |= _safe(self._reader.throttle_reasons) or 0
        if self._carbon is not None:
            self._carbon.close()
        self._t0 = self._e0 = None

    # -- the trainer's calls -----------------------------------------------------------------------

    def start(self) -> None:
        """Open the first timed window (after the untimed warm-up)."""
        if self._state != "new":
            raise RuntimeError(f"Meter.start() when {self._state}")
        if self._cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            self._rss.start()
        if self._reader_arg == "auto" and self._cuda:
            self._reader, why = open_nvml_reader(self.device)
            if why:
                self._warnings.append(why)
        elif self._reader_arg not in ("auto", None):
            self._reader = self._reader_arg
        if self._reader is not None:
            self._power_limit = _safe(self._reader.power_limit_w)
            self._temp_start = _safe(self._reader.temperature_c)
        self._state = "running"
        self._open()

    def step(self) -> None:
        """Mark the end of one optimizer step (step-time percentiles)."""
        self.steps.step()

    def pause(self) -> None:
        """Stop the clock (before evaluation)."""
        if self._state != "running":
            raise RuntimeError(f"Meter.pause() when {self._state}")
        self._close()
        self._state = "paused"

    def resume(self) -> None:
        """Start the clock again (after evaluation)."""
        if self._state != "paused":
            raise RuntimeError(f"Meter.resume() when {self._state}")
        self._state = "running"
        self._open()

    def elapsed_s(self) -> float:
        """Seconds inside timed windows so far (exact while paused; no synchronise while running)."""
        open_s = self._clock() - self._t0 if self._state == "running" else 0.0
        return sum(self._windows) + open_s

    def energy_method(self) -> str:
        if self._gpu_trial:
            return "nvml" if self._reader is not None else "none"
        return "estimated" if self._carbon is not None and self._carbon.ok else "none"

    def energy_so_far_j(self) -> float | None:
        """Energy of the closed windows (call it while paused, at eval points); None if not known."""
        method = self.energy_method()
        if method == "nvml":
            return sum(self._window_j)
        if method == "estimated":
            return (self._carbon.cpu_kwh + self._carbon.ram_kwh) * _J_PER_KWH
        return None

    def stop(self) -> dict:
        """Close the last window, release NVML and CodeCarbon; the trial's measurement columns."""
        if self._state == "running":
            self._close()
        elif self._state != "paused":
            raise RuntimeError(f"Meter.stop() when {self._state}")
        self._state = "stopped"
        temp_end = _safe(self._reader.temperature_c) if self._reader is not None else None
        if self._reader is not None:
            _safe(self._reader.close)
        carbon = self._carbon
        if carbon is not None:
            carbon.finish()
            self._warnings += [e for e in (carbon.error, carbon.stop_error) if e]
        cc = carbon is not None and carbon.ok
        cpu_j = carbon.cpu_kwh * _J_PER_KWH if cc else None
        ram_j = carbon.ram_kwh * _J_PER_KWH if cc else None
        method = self.energy_method()
        energy_j = self.energy_so_far_j()
        gpu_j = energy_j if method == "nvml" else 0.0
        intensity = carbon.intensity_kg_per_kwh() if cc else None
        emissions = None
        if intensity is not None and not (self._gpu_trial and method != "nvml"):
            emissions = intensity * (gpu_j + cpu_j + ram_j) / _J_PER_KWH
        total = sum(self._windows)
        n = len(self._windows)
        p50, p90 = self.steps.percentiles()
        if self._cuda:
            peak, peak_method = int(torch.cuda.max_memory_allocated(self.device)), "cuda_max_allocated"
        else:
            peak, peak_method = self._rss.stop(), self._rss.method
        nvml = method == "nvml"
        return {
            "train_time_s": total,
            "step_time_ms_p50": p50,
            "step_time_ms_p90": p90,
            "energy_j": energy_j,
            "energy_method": method,
            "emissions_kg": emissions,
            "cpu_energy_j": cpu_j,
            "ram_energy_j": ram_j,
            "cpu_power_source": carbon.cpu_mode if cc else None,
            "energy_windows": n,
            "energy_window_reliable": (n > 0 and total / n >= MIN_RELIABLE_WINDOW_S) if nvml else None,
            "power_limit_w": self._power_limit if nvml else None,
            "temp_start_c": self._temp_start if nvml else None,
            "temp_end_c": temp_end if nvml else None,
            "throttle_reasons": ",".join(throttle_names(self._throttle)) if nvml else None,
            "peak_mem_bytes": peak,
            "peak_mem_method": peak_method,
            "measure_warnings": "; ".join(self._warnings) or None,
        }
