"""The continual workload: the stream switches task at the segment boundaries, forgetting follows
Chaudhry et al. (2018), and the continual suite's smoke preset writes rows that carry it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness import config, report, store
from harness.run.executors import run_suite
from harness.spec import Trial
from harness.stats import analysis
from harness.train.trainer import run_trial
from harness.train.workloads import continual


def recorded_trial(monkeypatch, scale: str, steps: int = 60) -> tuple[list, dict]:
    """Train ``scale`` through the real trainer, recording (progress, batch) of every batch drawn."""
    seen, built = [], {}
    real_build = continual.build

    def build(scale, seed, data=None):
        task = real_build(scale, seed, data)
        progress, set_progress, batches = [0.0], task.set_progress, task.batches

        def record(p):
            progress[0] = p
            set_progress(p)

        def stream(seed):
            for b in batches(seed):
                seen.append((progress[0], b))
                yield b

        task.set_progress, task.batches = record, stream
        built["task"] = task
        return task

    monkeypatch.setattr(continual, "build", build)
    batch = continual.SCALES[scale]["batch"]
    trial = Trial(suite="t", workload="continual", scale=scale, budget_multiple=0.01, budget_tokens=steps * batch,
                  method="constant", kind="schedule", optimizer="sgd", schedule="constant", training_method=None,
                  hparams={"lr": 0.01}, seed=1, evals=5, warmup_steps=1, codecarbon=False)
    row = run_trial(trial)
    assert row["status"] == "ok", row["error"]
    return seen[1:], built["task"].extra  # the first batch belongs to the untimed warm-up copy


def test_split_stream_serves_task_k_labels_only_in_segment_k(monkeypatch):
    seen, extra = recorded_trial(monkeypatch, "split5")
    tasks = extra["tasks"]
    assert len(seen) == 60 and tasks == 5
    served = {}
    for progress, (_, y) in seen:
        k = int(progress * tasks)
        served.setdefault(k, set()).update(y.tolist())
    assert served == {k: {2 * k, 2 * k + 1} for k in range(tasks)}


def test_permuted_stream_serves_task_k_images_only_in_segment_k(monkeypatch):
    seen, extra = recorded_trial(monkeypatch, "permuted5", steps=20)
    rows = [{row.numpy().tobytes() for row in part["x_train"]} for part in extra["task_data"]]
    assert all(not (rows[a] & rows[b]) for a in range(5) for b in range(a + 1, 5)), "permutations must differ"
    for progress, (x, _) in seen:
        k = int(progress * 5)
        assert all(r.numpy().tobytes() in rows[k] for r in x)


def test_segment_boundaries():
    assert [continual.segment(p, 5) for p in (0.0, 0.199999, 0.2, 0.5, 0.8, 0.999999, 1.0)] == [0, 0, 1, 2, 4, 4, 4]


def test_forgetting_hand_computed():
    a = {0: [0.9, 0.1, 0.1], 1: [0.6, 0.95, 0.2], 2: [0.5, 0.7, 0.9]}
    # task 0: max(0.9, 0.6) - 0.5 = 0.4; task 1: max(0.1, 0.95) - 0.7 = 0.25; mean 0.325
    assert continual.forgetting(a) == pytest.approx(0.325)
    assert continual.forgetting({0: a[0], 1: a[1]}) == pytest.approx(0.3)
    assert continual.forgetting({0: a[0]}) is None
    assert continual.forgetting({0: [0.5, 0.1], 1: [0.7, 0.9]}) == pytest.approx(-0.2)  # backward transfer


def test_split_loss_and_accuracy_are_over_the_tasks_own_classes():
    task = continual.build("split5", 0)
    torch.manual_seed(0)
    logits, y = torch.randn(8, 10), torch.tensor([0, 1, 2, 3, 6, 7, 8, 9])
    pair = torch.stack([logits[i, (y[i] // 2) * 2:(y[i] // 2) * 2 + 2] for i in range(8)])
    expected = F.cross_entropy(pair, y % 2)
    got = continual.masked_cross_entropy(logits, y, task.extra["task_data"][0]["allowed"])
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    loss, acc, extra = task.evaluate(task.model)
    record = json.loads(extra["task_metrics_json"])
    x, yv = task.extra["task_data"][3]["x_val"], task.extra["task_data"][3]["y_val"]
    out = task.model(x)[:, 6:8]
    assert record["final_accuracy"][3] == pytest.approx((out.argmax(-1) + 6 == yv).float().mean().item())
    assert acc == pytest.approx(np.mean(record["final_accuracy"])) and extra["forgetting"] is None


def test_suite_tells_the_schedules_the_number_of_tasks():
    cfg = config.load(["suite=continual"])
    for preset in [None, *config.preset_names("continual")]:
        loaded = config.load(["suite=continual"] + ([f"preset={preset}"] if preset else []))
        for scale in loaded.workloads["continual"].scales:
            assert continual.SCALES[scale]["tasks"] == loaded.hparams["tasks"]
            assert loaded.train.evals % loaded.hparams["tasks"] == 0, "an evaluation must fall on every task's end"
    assert cfg.baseline == "repeated_cosine" and "infinite" in cfg.methods


def test_smoke_preset_writes_rows_with_forgetting(tmp_path):
    cfg = config.load(["suite=continual", "preset=smoke", f"results={tmp_path}"])
    run_suite(cfg, show=False)
    rows, problems = store.read_results(tmp_path, "continual")
    assert not problems and len(rows) == 4 and (rows["status"] == "ok").all(), rows[["status", "error"]]
    assert rows["forgetting"].notna().all()
    for _, r in rows.iterrows():
        record = json.loads(r["task_metrics_json"])
        assert sorted(record["end_of_task_accuracy"]) == ["0", "1", "2", "3", "4"]
        assert r["final_val_metric"] == pytest.approx(np.mean(record["final_accuracy"]))
        a = {int(k): v for k, v in record["end_of_task_accuracy"].items()}
        assert r["forgetting"] == pytest.approx(continual.forgetting(a))
    board = analysis.leaderboard(rows, baseline="repeated_cosine")
    fin = rows[rows["phase"] == "final"].set_index("method")
    mine = board.set_index("method").loc["infinite"]
    assert mine["forgetting_delta"] == pytest.approx(
        fin.loc["repeated_cosine", "forgetting"] - fin.loc["infinite", "forgetting"])
    header = report.COLUMNS["forgetting_delta"]
    assert header in report.readable(report.board(rows, "repeated_cosine")).columns
    assert header not in report.readable(board.assign(forgetting_delta=np.nan)).columns  # other workloads
    from harness.contracts import registry
    from harness.stats import engine

    judged, _ = engine.judge(rows, "infinite", registry.get("schedule", "infinite").claims)
    assert set(judged["metric"]) == {"quality", "forgetting"}
    assert (judged["verdict"] == "inconclusive").all()  # one seed: no interval
