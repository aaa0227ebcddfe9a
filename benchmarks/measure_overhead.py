"""What measurement costs: the same CPU training loop with the Meter on and off, interleaved.

    python benchmarks/measure_overhead.py [--steps 600] [--repeats 20] [--evals 6]

The loop is a small MLP (64-256-256-10, batch 64, AdamW) on fixed random data, with ``--evals``
pauses (the Meter's pause/resume; a bare perf_counter window when off). "on" = ``Meter(cpu)`` with
CodeCarbon (one task per window), peak-RSS reset and ``meter.step()`` after every step. Runs
alternate off/on so drift on a shared machine hits both alike. Reported (target: at most 1.02):
the on/off ratio of the in-window wall time, and of the loop's process CPU time (all threads,
CodeCarbon's included): the median of the per-pair ratios with a 95% interval, and the fastest runs' ratio.
On a shared machine those ratios carry
noise of tens of percent, so the script also times the parts directly: one ``meter.step()``, the
background threads' CPU share in a window, one pause + resume (off the clock), and the per-trial
fixed cost of ``start()`` + ``stop()`` (off the clock, once per trial).
One torch thread, to keep the shared 2-core machine's noise down.
"""

from __future__ import annotations

import argparse
import statistics
import time

import paired
import torch
from torch import nn

from harness.train.measure import Meter


def run(steps: int, evals: int, metered: bool) -> tuple[float, float, float]:
    """(wall seconds in the timed windows, process CPU seconds of the loop, set-up + tear-down seconds)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(64, 64), torch.randint(0, 10, (64,))
    every = max(1, steps // evals)
    meter = Meter(torch.device("cpu")) if metered else None
    t = time.perf_counter()
    if meter:
        meter.start()
    setup = time.perf_counter() - t
    windows, t0, cpu0 = 0.0, time.perf_counter(), time.process_time()
    for step in range(1, steps + 1):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if meter:
            meter.step()
        if step % every == 0 and step != steps:
            if meter:
                meter.pause()
                meter.elapsed_s(), meter.energy_so_far_j()
                meter.resume()
            else:
                windows += time.perf_counter() - t0
                t0 = time.perf_counter()
    t, cpu = time.perf_counter(), time.process_time() - cpu0
    if meter:
        out = meter.stop()
        return out["train_time_s"], cpu, setup + time.perf_counter() - t
    return windows + t - t0, cpu, 0.0


def unit_costs() -> tuple[float, float, float]:
    """Timed directly: seconds per ``meter.step()``; CPU seconds per second of window that the
    Meter's background threads (CodeCarbon's 1 Hz sampler) take, from an idle window; seconds per
    pause + resume (CodeCarbon's stop_task + start_task: off the clock)."""
    meter = Meter(torch.device("cpu"))
    meter.start()
    n = 100_000
    t = time.perf_counter()
    for _ in range(n):
        meter.step()
    step = (time.perf_counter() - t) / n
    cpu, t = time.process_time(), time.perf_counter()
    time.sleep(3.0)
    background = (time.process_time() - cpu) / (time.perf_counter() - t)
    cycles = 20
    t = time.perf_counter()
    for _ in range(cycles):
        meter.pause()
        meter.resume()
    cycle = (time.perf_counter() - t) / cycles
    meter.stop()
    return step, background, cycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--evals", type=int, default=6)
    args = parser.parse_args()
    torch.set_num_threads(1)
    run(200, 2, metered=True)  # warm-up: imports, CodeCarbon's hardware set-up, allocator
    res: dict[bool, list] = {False: [], True: []}
    for r in range(args.repeats):
        for metered in (False, True) if r % 2 == 0 else (True, False):
            res[metered].append(run(args.steps, args.evals, metered))
            wall, cpu, _ = res[metered][-1]
            print(f"repeat {r} {'on ' if metered else 'off'}: {wall:.3f} s in windows, {cpu:.3f} s CPU")
    for i, name in ((0, "wall s in windows"), (1, "process CPU s")):
        off, on = [x[i] for x in res[False]], [x[i] for x in res[True]]
        print(f"{name}: median off {statistics.median(off):.3f}, on {statistics.median(on):.3f}; on/off "
              f"{paired.text(on, off, 1.02)}; min-run ratio {min(on) / min(off):.4f}")
    fixed = [x[2] for x in res[True]]
    off = [x[0] for x in res[False]]
    step, background, cycle = unit_costs()
    step_s = min(off) / args.steps
    print(f"direct: meter.step() {step * 1e6:.2f} us = {step / step_s * 100:.3f}% of a {step_s * 1e3:.2f} ms "
          f"step; background threads {background * 100:.3f}% CPU in windows; in-window total "
          f"{(step / step_s + background) * 100:.3f}%")
    print(f"off the clock: pause+resume {cycle * 1e3:.2f} ms per evaluation")
    print(f"per-trial fixed cost of start()+stop() (off the clock): median {statistics.median(fixed):.3f} s")


if __name__ == "__main__":
    main()
