"""Compaction and the outcomes index: the same rows before and after, whatever point compaction dies at."""

from __future__ import annotations

import fcntl
import os
import re
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness import report, store
from harness.store import compact, index


def row(trial_id: str, loss: float = 1.5, suite: str = "s") -> dict:
    return {"trial_id": trial_id, "suite": suite, "study_id": f"st{trial_id[-1]}", "phase": "tune", "method": "adamw",
            "seed": 0, "status": "ok", "final_val_loss": loss, "curve_step": [1, 2], "curve_val_loss": [3.0, loss]}


def snapshot(results: Path) -> list[tuple]:
    df, problems = store.read_results(results)
    assert problems == []
    return sorted(df[["trial_id", "final_val_loss"]].itertuples(index=False, name=None))


def fill(results: Path, n: int = 6) -> None:
    for i in range(n):
        store.write_row(results, row(f"t{i}", float(i)))


def test_compaction_keeps_every_row_and_duckdb_reads_it(tmp_path):
    fill(tmp_path)
    before = snapshot(tmp_path)
    assert compact.compact(tmp_path) == {"s": 6}
    packed, small = compact.files(tmp_path / "suite=s")
    assert len(packed) == 1 and small == []
    assert snapshot(tmp_path) == before
    assert store.stored_ids(tmp_path, "s") == {f"t{i}" for i in range(6)}
    got = duckdb.sql(f"select count(*) from read_parquet('{tmp_path}/**/*.parquet', union_by_name=true)").fetchall()
    assert got == [(6,)]
    df, _ = store.read_results(tmp_path)
    assert list(df.columns) == store.SCHEMA.names and all(list(c) == [1, 2] for c in df["curve_step"])


def test_newer_small_file_wins_and_columns_are_projected(tmp_path):
    fill(tmp_path)
    compact.compact(tmp_path)
    store.write_row(tmp_path, row("t1", 11.0))  # a rewrite after compaction
    store.write_row(tmp_path, row("t9", 9.0))
    df, problems = store.read_results(tmp_path, columns=["final_val_loss"])
    assert problems == [] and list(df.columns) == ["trial_id", "final_val_loss"]
    assert dict(zip(df["trial_id"], df["final_val_loss"]))["t1"] == 11.0 and len(df) == 7
    out = store.outcomes(tmp_path, "s")
    assert len(out) == 7 and dict(zip(out["trial_id"], out["final_val_loss"]))["t1"] == 11.0
    compact.compact(tmp_path)
    assert dict(snapshot(tmp_path))["t1"] == 11.0 and len(compact.files(tmp_path / "suite=s")[0]) == 1


@pytest.mark.parametrize("dies_at", ["write", "rename", "cleanup"])
def test_a_compaction_killed_anywhere_loses_nothing(tmp_path, monkeypatch, dies_at):
    fill(tmp_path)
    compact.compact(tmp_path)
    store.write_row(tmp_path, row("t7", 7.0))
    store.write_row(tmp_path, row("t8", 8.0))
    before = snapshot(tmp_path)

    class Killed(BaseException):
        pass

    def die(*_a, **_k):
        raise Killed

    real_unlink = Path.unlink
    calls = []

    def unlink_once(self, *a, **k):  # the first removal succeeds, then the process "dies"
        calls.append(self)
        if len(calls) > 1:
            raise Killed
        return real_unlink(self, *a, **k)

    target = {"write": (compact.pq.ParquetWriter, "write_table", die), "rename": (compact.os, "replace", die),
              "cleanup": (Path, "unlink", unlink_once)}[dies_at]
    with monkeypatch.context() as m:
        m.setattr(*target)
        with pytest.raises(Killed):
            compact.compact(tmp_path)
    assert snapshot(tmp_path) == before  # the stray .tmp is hidden; rows stored twice are counted once
    assert store.stored_ids(tmp_path, "s") == {i for i, _ in before}
    assert len(store.outcomes(tmp_path, "s")) == len(before)
    compact.compact(tmp_path)  # the next compaction finishes the job
    assert snapshot(tmp_path) == before


def test_concurrent_writers_lose_nothing(tmp_path):
    fill(tmp_path, 3)
    stop, written = threading.Event(), []

    def writer():
        k = 0
        while not stop.is_set():
            store.write_row(tmp_path, row(f"w{k}", float(k)))
            written.append(f"w{k}")
            k += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(10):
            compact.compact(tmp_path)
    finally:
        stop.set()
        thread.join()
    compact.compact(tmp_path)
    assert {i for i, _ in snapshot(tmp_path)} == {"t0", "t1", "t2", *written}


def test_a_held_lock_skips_the_folder(tmp_path):
    fill(tmp_path)
    fd = os.open(tmp_path / "suite=s" / ".compact.lock", os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert compact.compact(tmp_path) == {}
    finally:
        os.close(fd)
    assert compact.compact(tmp_path) == {"s": 6}


def test_end_of_suite_compaction_adds_parts_then_merges(tmp_path, monkeypatch):
    monkeypatch.setattr(compact, "MIN_SMALL", 2)
    monkeypatch.setattr(compact, "MAX_PARTS", 3)
    store.write_row(tmp_path, row("a0"))
    assert compact.compact(tmp_path, merge=False) == {}  # too few small files to bother
    for k in range(4):
        store.write_row(tmp_path, row(f"b{k}"))
        store.write_row(tmp_path, row(f"c{k}"))
        compact.compact(tmp_path, merge=False)
    packed, small = compact.files(tmp_path / "suite=s")
    assert small == [] and len(packed) <= 3
    assert len(snapshot(tmp_path)) == 9


def test_the_outcomes_index_reads_a_compacted_file_once(tmp_path, monkeypatch):
    fill(tmp_path)
    compact.compact(tmp_path)
    reads = []
    real = index.read_compacted
    monkeypatch.setattr(index, "read_compacted", lambda *a: reads.append(a[0]) or real(*a))
    cache = {}
    assert len(store.outcomes(tmp_path, "s", cache)) == 6
    store.write_row(tmp_path, row("t9"))
    assert len(store.outcomes(tmp_path, "s", cache)) == 7
    assert len(reads) == 1


def test_report_reads_every_column_the_statistics_use():
    """``report.ROW_COLUMNS`` must follow harness/stats: a store column named there is read by the report."""
    root = Path(report.__file__).parent
    named = set()
    for path in [*root.glob("stats/*.py"), root / "report.py"]:
        named |= set(re.findall(r'"([a-z_0-9]+)"', path.read_text())) & set(store.SCHEMA.names)
    assert named <= set(report.ROW_COLUMNS), sorted(named - set(report.ROW_COLUMNS))


def test_a_suite_compacts_at_its_end_and_resumes_from_compacted_files(tmp_path, monkeypatch):
    from harness import config
    from harness.run.executors import run_suite
    from harness.run.options import Options

    suite = tmp_path / "q.yaml"
    suite.write_text("include: _defaults.yaml\nmethods: [adamw, sgd]\nbaseline: adamw\n"
                     "workloads:\n  quadratic: {scales: [tiny], budgets: [1]}\n"
                     "tuning: {trials: 3, seeds: 2}\ntrain: {codecarbon: false, evals: 1, warmup_steps: 1}\n")
    monkeypatch.setattr(compact, "MIN_SMALL", 4)
    cfg = config.load([f"suite={suite}", f"results={tmp_path / 'results'}"])
    first = run_suite(cfg, show=False, opts=Options(runner="tests.protocol_runners:run"))
    packed, small = compact.files(tmp_path / "results" / "suite=q")
    assert first["ran"] == 10 and len(packed) == 1 and small == []
    again = run_suite(cfg, show=False, opts=Options(runner="tests.protocol_runners:run"))
    assert again["ran"] == 0  # every trial found in the compacted file: nothing reruns
    rows, problems = store.read_results(tmp_path / "results")
    assert problems == [] and len(rows) == 10 and rows["trial_id"].is_unique


def test_harness_compact_command(tmp_path, cli):
    fill(tmp_path)
    done = cli("compact", f"results={tmp_path}")
    assert done.returncode == 0 and "suite s: 6 rows in one compacted file" in done.stdout
    assert cli("compact", f"results={tmp_path}").stdout.startswith("Nothing to compact")
    assert cli("compact", f"results={tmp_path / 'none'}").returncode == 2


# ------------------------------------------------------------------ issue 29: what compaction meets on disk


def parts(results: Path) -> list[Path]:
    return compact.files(results / "suite=s")[0]


def test_a_corrupt_compacted_part_is_set_aside_and_later_compactions_work(tmp_path):
    fill(tmp_path)
    compact.compact(tmp_path)
    part = parts(tmp_path)[0]
    part.write_bytes(part.read_bytes()[:200])  # truncated: no footer
    store.write_row(tmp_path, row("t7", 7.0))
    warnings = []
    assert compact.compact(tmp_path, warnings=warnings) == {"s": 1}
    assert len(warnings) == 1 and str(part) in warnings[0] and "its rows are lost" in warnings[0]
    assert (part.parent / f"{part.name}.unreadable").exists() and part not in parts(tmp_path)
    assert snapshot(tmp_path) == [("t7", 7.0)]  # the lost trials are not stored: they run again
    store.write_row(tmp_path, row("t8", 8.0))
    assert compact.compact(tmp_path) == {"s": 2}


def test_rows_of_a_part_that_are_not_whole_trials_are_left_out_and_the_part_kept(tmp_path):
    fill(tmp_path, 2)
    folder = tmp_path / "suite=s"
    bad = pa.table({"trial_id": ["x"], "status": ["ok"]})  # an older compaction merged a file that was no trial
    good = pa.Table.from_pylist([row("t5", 5.0)])
    part = folder / f"{compact.PREFIX}00000000000000000001-1.parquet"
    pq.write_table(pa.concat_tables([good, bad], promote_options="default"), part)
    df, problems = store.read_results(tmp_path)
    assert sorted(df["trial_id"]) == ["t0", "t1", "t5"] and "not whole trials (no suite): 1 row left out" in problems[0]
    assert "x" not in store.stored_ids(tmp_path, "s")  # its trial runs again
    warnings = []
    assert compact.compact(tmp_path, warnings=warnings) == {"s": 3}
    assert "not whole trials (no suite): 1 row left out" in warnings[0]
    assert (folder / f"{part.name}.unreadable").exists()
    assert [t for t, _ in snapshot(tmp_path)] == ["t0", "t1", "t5"]


def test_small_files_that_are_not_trials_stay_out_of_compaction(tmp_path):
    fill(tmp_path, 2)
    folder = tmp_path / "suite=s"
    pq.write_table(pa.table({"trial_id": ["m"], "status": ["ok"]}), folder / "m.parquet")
    (folder / "o.parquet").write_bytes((folder / "t0.parquet").read_bytes())  # t0's row under another name
    warnings = []
    assert compact.compact(tmp_path, warnings=warnings) == {"s": 2}
    assert [p.name for p in compact.files(folder)[1]] == ["m.parquet", "o.parquet"]
    assert len(warnings) == 2 and all("not merged" in w for w in warnings)


def test_a_full_disk_or_a_read_only_folder_is_one_error_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    import errno

    from harness.errors import StoreError

    fill(tmp_path)

    def names() -> list[str]:
        return sorted(n for n in os.listdir(tmp_path / "suite=s") if n != ".compact.lock")

    before = names()

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    def read_only(*_a, **_k):
        raise PermissionError(errno.EACCES, "Permission denied")

    for target, words in (((pq.ParquetWriter, "write_table", full), "No space left on device"),
                          ((compact.os, "replace", read_only), "Permission denied")):
        with monkeypatch.context() as m:
            m.setattr(*target)
            with pytest.raises(StoreError, match=f"cannot compact .*suite=s: {words}; no row was lost"):
                compact.compact(tmp_path)
        assert names() == before  # no .compacted-*.parquet.tmp
    if os.geteuid() != 0:  # root writes into a read-only folder
        (tmp_path / "suite=s").chmod(0o555)
        try:
            with pytest.raises(StoreError, match="Permission denied"):
                compact.compact(tmp_path)
        finally:
            (tmp_path / "suite=s").chmod(0o755)
    assert compact.compact(tmp_path) == {"s": 6}


def test_a_stale_compaction_temporary_file_is_removed_before_a_run(tmp_path):
    fill(tmp_path, 1)
    stale, live = (tmp_path / "suite=s" / f".{compact.PREFIX}{n}.parquet.tmp" for n in ("1-1", "2-2"))
    stale.write_bytes(b"PAR1 half a suite")
    live.write_bytes(b"PAR1 being written")
    os.utime(stale, (0, 0))
    assert store.set_aside(tmp_path, "s") == [f"{stale} -> removed: the partial write of a killed run"]
    assert not stale.exists() and live.exists()


def test_the_compact_command_warns_in_one_line_per_file_and_fails_in_one_line(tmp_path, capsys, monkeypatch):
    from harness.cli import main

    fill(tmp_path)
    compact.compact(tmp_path)
    parts(tmp_path)[0].write_bytes(b"PAR1 nothing")
    store.write_row(tmp_path, row("t7", 7.0))
    assert main(["compact", f"results={tmp_path}"]) == 0
    out, err = capsys.readouterr()
    assert "suite s: 1 row in one compacted file" in out and err.startswith("warning: ") and err.count("\n") == 1
    store.write_row(tmp_path, row("t8", 8.0))
    monkeypatch.setattr(compact.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left")))
    assert main(["compact", f"results={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harness: error: cannot compact ") and "No space left" in err
