"""Measurement: windows, NVML joules from replayed readings, CodeCarbon paths, memory, FLOPs, metadata."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pynvml
import pytest
import torch
from torch import nn

from harness.store import SCHEMA
from harness.train import flops, hardware, measure
from harness.train.hardware import THROTTLE_BITS, nvml_locator, peak_flops
from harness.train.measure import Meter, StepTimer

# ------------------------------------------------------------------------------------------ fakes


class Clock:
    """A wall clock the test moves by hand; logs every reading."""

    def __init__(self, log: list | None = None):
        self.t, self.log = 0.0, log if log is not None else []

    def __call__(self) -> float:
        self.log.append("clock")
        return self.t


class ReplayReader:
    """Replays a recorded sequence of NVML energy-counter readings (mJ)."""

    def __init__(self, energy_mj, log=None, throttle=(0,), temps=(41.0, 63.0), fail_at=None):
        self.energy, self.log = list(energy_mj), log if log is not None else []
        self.throttle, self.temps = list(throttle), list(temps)
        self.fail_at, self.reads, self.closed = fail_at, 0, False

    def energy_mj(self) -> int:
        self.log.append("energy")
        self.reads += 1
        if self.fail_at == self.reads:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
        return self.energy.pop(0)

    def power_limit_w(self) -> float:
        return 700.0

    def temperature_c(self) -> float:
        return self.temps.pop(0)

    def throttle_reasons(self) -> int:
        return self.throttle.pop(0) if len(self.throttle) > 1 else self.throttle[0]

    def close(self) -> None:
        self.closed = True


class FakeEvent:
    """torch.cuda.Event stand-in: timestamps from a Clock, always complete."""

    clock: Clock

    def __init__(self, enable_timing: bool = False):
        self.t = None

    def record(self, stream=None) -> None:
        self.t = FakeEvent.clock.t

    def query(self) -> bool:
        return True

    def synchronize(self) -> None:
        pass

    def elapsed_time(self, end: FakeEvent) -> float:
        return (end.t - self.t) * 1e3


@pytest.fixture
def fake_cuda(monkeypatch):
    """The torch.cuda calls the Meter makes, on this CPU-only build; returns the call log and clock."""
    log: list[str] = []
    FakeEvent.clock = Clock(log)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: log.append("sync"))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device=None: log.append("reset_peak"))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 123_456_789)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: None)
    monkeypatch.setattr(torch.cuda, "Event", FakeEvent)
    return log, FakeEvent.clock


def run_windows(meter: Meter, clock: Clock, windows_s, eval_s: float = 1.0, steps_per_window: int = 4):
    """Drive a trial: ``windows_s`` timed windows separated by evals; returns energy at each eval."""
    curve = []
    meter.start()
    for i, w in enumerate(windows_s):
        if i:
            clock.t += eval_s  # evaluation, off the clock
            meter.resume()
        for _ in range(steps_per_window):
            clock.t += w / steps_per_window
            meter.step()
        meter.pause()
        curve.append((meter.elapsed_s(), meter.energy_so_far_j()))
    return curve


# ------------------------------------------------------------------------------------- NVML paths


def test_replayed_nvml_readings_become_joules_over_the_timed_windows_only(fake_cuda):
    log, clock = fake_cuda
    # window 1: 1000.000 -> 1600.500 J; eval burns 399.5 J (not counted); window 2: 2000.000 -> 2900.250 J
    reader = ReplayReader([1_000_000, 1_600_500, 2_000_000, 2_900_250], throttle=[0x4, 0x1 | 0x40])
    meter = Meter(torch.device("cuda", 0), codecarbon=False, gpu_reader=reader, clock=clock)
    curve = run_windows(meter, clock, [6.0, 7.0])
    out = meter.stop()
    assert out["energy_method"] == "nvml"
    assert out["energy_j"] == pytest.approx(600.5 + 900.25)
    assert [e for _, e in curve] == pytest.approx([600.5, 1500.75])
    assert [t for t, _ in curve] == pytest.approx([6.0, 13.0])
    assert out["train_time_s"] == pytest.approx(13.0)
    assert out["energy_windows"] == 2 and out["energy_window_reliable"] is True
    assert out["power_limit_w"] == 700.0 and (out["temp_start_c"], out["temp_end_c"]) == (41.0, 63.0)
    assert out["throttle_reasons"] == "sw_power_cap,hw_thermal_slowdown"  # union of the edges, idle dropped
    assert out["peak_mem_bytes"] == 123_456_789 and out["peak_mem_method"] == "cuda_max_allocated"
    assert out["emissions_kg"] is None and reader.closed


@pytest.mark.parametrize(("windows", "reliable"), [([4.9], False), ([5.0], True), ([2.0, 3.0], False),
                                                    ([6.0, 4.5], True)])
def test_short_windows_are_flagged_unreliable(fake_cuda, windows, reliable):
    log, clock = fake_cuda
    readings = [v for i in range(len(windows)) for v in (10_000 * i, 10_000 * i + 5_000)]
    meter = Meter("cuda", codecarbon=False, gpu_reader=ReplayReader(readings), clock=clock)
    run_windows(meter, clock, windows)
    assert meter.stop()["energy_window_reliable"] is reliable


def test_window_edges_synchronise_before_the_clock_and_read_energy_outside_it(fake_cuda):
    log, clock = fake_cuda
    meter = Meter("cuda", codecarbon=False, gpu_reader=ReplayReader([0, 1, 2, 3], log=log), clock=clock)
    run_windows(meter, clock, [1.0, 1.0], steps_per_window=1)
    meter.stop()
    edges = [e for e in log if e in ("sync", "clock", "energy", "reset_peak")]
    # start: reset peak, sync, energy, clock | pause: sync, clock, energy | resume | pause
    assert edges == ["reset_peak", "sync", "energy", "clock", "sync", "clock", "energy",
                     "sync", "energy", "clock", "sync", "clock", "energy"]


def test_nvml_without_a_driver_records_energy_method_none(fake_cuda, monkeypatch):
    def no_library():
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", no_library)
    log, clock = fake_cuda
    meter = Meter(torch.device("cuda", 0), codecarbon=False, clock=clock)
    run_windows(meter, clock, [6.0])
    out = meter.stop()
    assert out["energy_method"] == "none" and out["energy_j"] is None
    assert out["emissions_kg"] is None and out["energy_window_reliable"] is None
    assert "NVMLError_LibraryNotFound" in out["measure_warnings"]
    assert out["train_time_s"] == pytest.approx(6.0)


def test_this_machine_has_no_nvml_and_says_why():
    reader, why = hardware.open_nvml_reader(torch.device("cuda", 0))
    if reader is not None:
        reader.close()
        pytest.skip("this machine has an NVIDIA driver")
    assert "NVML" in why


@pytest.mark.parametrize("fail", ["backwards", "lost"])
def test_a_broken_counter_gives_no_energy_rather_than_a_wrong_one(fake_cuda, fail):
    log, clock = fake_cuda
    readings = [5_000_000, 6_000_000, 7_000_000, 100] if fail == "backwards" else [0, 1000, 2000, 3000]
    reader = ReplayReader(readings, fail_at=3 if fail == "lost" else None)
    meter = Meter("cuda", codecarbon=False, gpu_reader=reader, clock=clock)
    run_windows(meter, clock, [6.0, 6.0])
    out = meter.stop()
    assert out["energy_method"] == "none" and out["energy_j"] is None
    assert out["measure_warnings"] and out["train_time_s"] == pytest.approx(12.0)


def test_nvml_locator_maps_torch_devices_to_nvml():
    pci = SimpleNamespace(pci_domain_id=0, pci_bus_id=0x65, pci_device_id=0, uuid="abc")
    assert nvml_locator(0, pci, {}, 8) == ("pci", "0000:65:00.0")
    assert nvml_locator(0, SimpleNamespace(uuid="58a6-77"), {}, 8) == ("uuid", "GPU-58a6-77")
    env = {"CUDA_VISIBLE_DEVICES": "GPU-aa,GPU-bb"}
    assert nvml_locator(1, None, env, 8) == ("uuid", "GPU-bb")
    env = {"CUDA_VISIBLE_DEVICES": "3,5", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    assert nvml_locator(1, None, env, 8) == ("index", 5)
    assert nvml_locator(0, None, {}, 1) == ("index", 0)
    with pytest.raises(LookupError):  # FASTEST_FIRST order on a multi-GPU machine: no safe mapping
        nvml_locator(1, None, {"CUDA_VISIBLE_DEVICES": "3,5"}, 8)


def test_throttle_bits_match_nvml_constants():
    names = {"applications_clocks_setting": "ApplicationsClocksSetting", "sw_power_cap": "SwPowerCap",
             "hw_slowdown": "HwSlowdown", "sync_boost": "SyncBoost",
             "sw_thermal_slowdown": "SwThermalSlowdown", "hw_thermal_slowdown": "HwThermalSlowdown",
             "hw_power_brake_slowdown": "HwPowerBrakeSlowdown",
             "display_clock_setting": "DisplayClockSetting"}
    for bit, name in THROTTLE_BITS.items():
        assert getattr(pynvml, f"nvmlClocksThrottleReason{names[name]}") == bit


# -------------------------------------------------------------------------------- CodeCarbon paths


def busy(seconds: float) -> None:
    x = torch.randn(128, 128)
    end = __import__("time").perf_counter() + seconds
    while __import__("time").perf_counter() < end:
        x = torch.tanh(x @ x)


def test_codecarbon_without_rapl_gives_an_estimate_over_the_windows():
    meter = Meter("cpu", country_iso_code="USA")
    meter.start()
    busy(0.3)
    meter.pause()
    first = meter.energy_so_far_j()
    busy(0.2)  # "evaluation": not counted
    meter.resume()
    busy(0.3)
    out = meter.stop()
    assert out["energy_method"] == "estimated", out["measure_warnings"]
    assert out["energy_j"] == pytest.approx(out["cpu_energy_j"] + out["ram_energy_j"])
    assert 0 < first < out["energy_j"] and out["emissions_kg"] > 0
    assert out["energy_window_reliable"] is None and out["power_limit_w"] is None
    if not Path("/sys/class/powercap/intel-rapl").exists():
        assert out["cpu_power_source"] == "cpu_load"  # CodeCarbon's model, not a measurement


class FakeTracker:
    def __init__(self, mode="ok"):
        self.mode = mode

    def start_task(self):
        if self.mode == "start_raises":
            raise RuntimeError("no hardware")

    def stop_task(self):
        if self.mode == "stop_none":
            return None
        return SimpleNamespace(cpu_energy=1e-6, ram_energy=2e-6, energy_consumed=4e-6, emissions=2e-6)

    def stop(self):
        if self.mode == "stop_raises":
            raise RuntimeError("scheduler already gone")
        return None  # CodeCarbon's stop() can return None: harmless here


def test_codecarbon_sums_and_emissions_use_its_grid_intensity(monkeypatch, fake_cuda):
    monkeypatch.setattr(measure, "_make_tracker", lambda country: FakeTracker())
    log, clock = fake_cuda
    reader = ReplayReader([0, 1_000_000, 2_000_000, 2_500_000])
    meter = Meter("cuda", gpu_reader=reader, clock=clock)
    run_windows(meter, clock, [6.0, 6.0])
    out = meter.stop()
    assert out["cpu_energy_j"] == pytest.approx(2 * 1e-6 * 3.6e6)
    assert out["ram_energy_j"] == pytest.approx(2 * 2e-6 * 3.6e6)
    assert out["energy_j"] == pytest.approx(1500.0) and out["energy_method"] == "nvml"
    intensity = 2e-6 / 4e-6  # kg per kWh
    assert out["emissions_kg"] == pytest.approx(intensity * (1500.0 + 7.2 + 14.4) / 3.6e6)


@pytest.mark.parametrize("failure", ["import", "start_raises", "stop_none"])
def test_a_failing_codecarbon_never_breaks_the_trial(monkeypatch, failure):
    def make(country):
        if failure == "import":
            raise ImportError("No module named 'codecarbon'")
        return FakeTracker(failure)

    monkeypatch.setattr(measure, "_make_tracker", make)
    clock = Clock()
    meter = Meter("cpu", clock=clock)
    run_windows(meter, clock, [1.0, 1.0])
    out = meter.stop()
    assert out["energy_method"] == "none" and out["energy_j"] is None and out["emissions_kg"] is None
    assert out["cpu_energy_j"] is None and "codecarbon" in out["measure_warnings"]
    assert out["train_time_s"] == pytest.approx(2.0) and out["step_time_ms_p50"] == pytest.approx(250.0)


def test_a_failing_codecarbon_stop_keeps_the_windows_already_summed(monkeypatch):
    monkeypatch.setattr(measure, "_make_tracker", lambda country: FakeTracker("stop_raises"))
    clock = Clock()
    meter = Meter("cpu", clock=clock)
    run_windows(meter, clock, [1.0])
    out = meter.stop()
    assert out["energy_method"] == "estimated" and out["energy_j"] == pytest.approx(3e-6 * 3.6e6)
    assert "codecarbon stop" in out["measure_warnings"]


# ------------------------------------------------------------------------------ step times, memory


def test_step_timer_percentiles_on_cpu():
    clock = Clock()
    timer = StepTimer(torch.device("cpu"), clock)
    durations = [0.010, 0.012, 0.011, 0.050, 0.009, 0.013, 0.010]
    timer.start()
    for d in durations:
        clock.t += d
        timer.step()
    timer.pause()
    clock.t += 5.0
    timer.step()  # outside a window: not timed
    assert timer.times_ms() == pytest.approx([d * 1e3 for d in durations])
    assert timer.percentiles() == pytest.approx(tuple(np.percentile(np.array(durations) * 1e3, [50, 90])))


def test_step_timer_with_cuda_events_resolves_in_order(fake_cuda):
    log, clock = fake_cuda
    timer = StepTimer(torch.device("cuda", 0), clock)
    durations = [0.001 * (1 + i % 7) for i in range(600)]  # more than one non-blocking drain
    timer.start()
    for d in durations:
        clock.t += d
        timer.step()
    assert len(timer.times_ms()) == 512  # resolved without blocking once 512 were pending
    timer.pause()
    assert timer.times_ms() == pytest.approx([d * 1e3 for d in durations])


def test_cpu_peak_memory_is_per_trial():
    first = Meter("cpu", codecarbon=False)
    first.start()
    block = np.ones(16 * 2**20 // 8 * 8)  # 128 MiB, touched
    del block
    out1 = first.stop()
    second = Meter("cpu", codecarbon=False)
    second.start()
    out2 = second.stop()
    assert out1["peak_mem_method"] == "vmhwm" or Path("/proc/self/clear_refs").exists() is False
    assert out1["peak_mem_bytes"] - out2["peak_mem_bytes"] > 100 * 2**20  # the reset forgot the block


def test_cpu_peak_memory_falls_back_to_sampling(monkeypatch):
    monkeypatch.setattr(hardware, "_vmhwm_bytes", lambda: None)
    meter = Meter("cpu", codecarbon=False)
    meter.start()
    base = __import__("psutil").Process().memory_info().rss
    block = np.ones(16 * 2**20)  # 128 MiB
    __import__("time").sleep(0.2)
    del block
    out = meter.stop()
    assert out["peak_mem_method"] == "rss_sampled" and out["peak_mem_bytes"] > base + 100 * 2**20


def test_meter_refuses_calls_out_of_order():
    meter = Meter("cpu", codecarbon=False)
    with pytest.raises(RuntimeError):
        meter.pause()
    meter.start()
    with pytest.raises(RuntimeError):
        meter.resume()
    meter.stop()
    with pytest.raises(RuntimeError):
        meter.stop()


# ---------------------------------------------------------------------------------- FLOPs, peaks


class TinyGPT(nn.Module):
    """A GPT with explicit attention matmuls (so FlopCounterMode sees every one of them)."""

    def __init__(self, vocab=16, ctx=8, d=12, n_layer=2, n_head=3, d_ff=20):
        super().__init__()
        self.n_head = n_head
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Parameter(torch.randn(ctx, d) * 0.02)
        self.blocks = nn.ModuleList(
            nn.ModuleDict({"ln1": nn.LayerNorm(d), "qkv": nn.Linear(d, 3 * d), "proj": nn.Linear(d, d),
                           "ln2": nn.LayerNorm(d), "up": nn.Linear(d, d_ff), "down": nn.Linear(d_ff, d)})
            for _ in range(n_layer))
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        b, t = idx.shape
        x = self.tok(idx) + self.pos[:t]
        mask = torch.ones(t, t, dtype=torch.bool).tril()
        for blk in self.blocks:
            q, k, v = blk["qkv"](blk["ln1"](x)).view(b, t, 3, self.n_head, -1).permute(2, 0, 3, 1, 4)
            att = (q @ k.transpose(-2, -1)) / q.shape[-1] ** 0.5
            att = att.masked_fill(~mask, float("-inf")).softmax(-1)
            x = x + blk["proj"]((att @ v).transpose(1, 2).reshape(b, t, -1))
            x = x + blk["down"](torch.relu(blk["up"](blk["ln2"](x))))
        return self.head(x)


def test_gpt_flops_hand_count():
    # n_layer=2, d=8, ctx=4, V=16, d_ff=32: N = 2 (4*64 + 2*8*32) + 8*16 = 1664
    assert flops.gpt_matmul_params(2, 8, 16, 32) == 1664
    assert flops.gpt_flops_per_token(2, 8, 4, 16, 32) == 6 * 1664 + 6 * 2 * 4 * 8
    assert flops.gpt_flops_per_token(2, 8, 4, 16, 32, causal=False) == 6 * 1664 + 12 * 2 * 4 * 8


def test_gpt_flops_match_pytorchs_flop_counter():
    torch.manual_seed(0)
    model = TinyGPT()
    idx = torch.randint(0, 16, (5, 8))
    counted = flops.counted_training_flops(
        lambda: nn.functional.cross_entropy(model(idx).flatten(0, 1), idx.flatten()))
    # dense attention computes the masked half too: the full-attention count is what runs
    assert counted == 5 * 8 * flops.gpt_flops_per_token(2, 12, 8, 16, 20, causal=False)


def test_mlp_and_cnn_flops_match_pytorchs_flop_counter():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    x, y = torch.randn(7, 64), torch.randint(0, 10, (7,))
    counted = flops.counted_training_flops(lambda: nn.functional.cross_entropy(mlp(x), y))
    assert counted == 7 * flops.mlp_flops_per_example([64, 32, 10])
    assert flops.mlp_flops_per_example([64, 32, 10]) == 6 * (64 * 32 + 32 * 10) - 2 * 64 * 32
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.Flatten(),
                        nn.Linear(6 * 6 * 6, 10))
    img = torch.randn(3, 1, 8, 8)
    counted = flops.counted_training_flops(lambda: nn.functional.cross_entropy(cnn(img), y[:3]))
    per_example = flops.training_flops(
        [flops.conv2d_flops(1, 4, 3, 8, 8), flops.conv2d_flops(4, 6, 3, 6, 6), flops.linear_flops(216, 10)])
    assert counted == 3 * per_example


def test_peak_table_and_mfu():
    assert peak_flops("NVIDIA H100 80GB HBM3", "bf16") == pytest.approx(989.4e12)
    assert peak_flops("NVIDIA H200", "bf16") == pytest.approx(989.4e12)
    assert peak_flops("NVIDIA H100 PCIe", "bf16") == pytest.approx(756.5e12)
    assert peak_flops("NVIDIA H100 NVL", "bf16") == pytest.approx(835.5e12)
    assert peak_flops("NVIDIA A100-SXM4-80GB", "tf32") == pytest.approx(156e12)
    assert peak_flops("Tesla V100-SXM2-16GB", "bf16") is None
    assert peak_flops("NVIDIA A10G", "bf16") is None  # not the A10: unknown, never guessed
    assert hardware.matmul_precision(torch.float32) == "fp32"  # torch's default: no TF32
    assert hardware.mfu(1e12, torch.device("cpu"), torch.bfloat16) is None


# ---------------------------------------------------------------------------------------- metadata


def test_hardware_metadata_fills_the_provenance_columns():
    meta = hardware.hardware_metadata(torch.device("cpu"))
    provenance = ["device", "device_name", "gpu_count", "driver", "cpu_model", "torch_version",
                  "python_version", "harness_version", "git_sha", "git_dirty"]
    assert set(provenance) <= set(meta) and set(provenance) <= set(SCHEMA.names)
    assert meta["device"] == "cpu" and meta["torch_version"] == torch.__version__ and meta["cpu_model"]
    git = ["git", "-C", str(hardware.ROOT), "rev-parse", "HEAD"]
    head = subprocess.run(git, capture_output=True, text=True)
    if head.returncode == 0:
        assert meta["git_sha"] == head.stdout.strip() and isinstance(meta["git_dirty"], bool)
    else:
        assert meta["git_sha"] is None and meta["git_dirty"] is None
