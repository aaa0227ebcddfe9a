from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from harness import store


def row(trial_id: str, suite: str = "s", **extra) -> dict:
    return {"trial_id": trial_id, "suite": suite, "study_id": "st", "phase": "tune", "method": "adamw", "seed": 0,
            "status": "ok", "final_val_loss": 1.5, "curve_val_loss": [3.0, 1.5], "curve_step": [1, 2], **extra}


def test_write_is_atomic_and_readable_by_pandas_and_duckdb(tmp_path):
    path = store.write_row(tmp_path, row("a"))
    store.write_row(tmp_path, row("b", final_val_loss=2.0))
    assert path == tmp_path / "suite=s" / "a.parquet"
    assert not list(tmp_path.rglob(".*"))  # no temporary file left behind
    df, problems = store.read_results(tmp_path)
    assert problems == [] and sorted(df["trial_id"]) == ["a", "b"]
    assert list(df.columns) == store.SCHEMA.names
    got = duckdb.sql(
        f"select trial_id, final_val_loss from read_parquet('{tmp_path}/**/*.parquet', union_by_name=true) order by 1"
    ).fetchall()
    assert got == [("a", 1.5), ("b", 2.0)]
    assert store.stored_ids(tmp_path, "s") == {"a", "b"}


def test_unknown_column_is_refused(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="outside the schema"):
        store.write_row(tmp_path, row("a", not_a_column=1))
    assert not (tmp_path / "suite=s").exists() or not list((tmp_path / "suite=s").iterdir())


def test_older_files_without_newer_columns_and_corrupt_files(tmp_path):
    folder = tmp_path / "suite=s"
    folder.mkdir()
    identity = {k: [v] for k, v in row("old", final_val_loss=2.5).items() if not k.startswith("curve")}
    pq.write_table(pa.table(identity), folder / "old.parquet")  # an older, narrower schema
    store.write_row(tmp_path, row("new"))
    (folder / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    pq.write_table(pa.table({"x": [1]}), folder / "foreign.parquet")
    df, problems = store.read_results(tmp_path)
    assert sorted(df["trial_id"]) == ["new", "old"]
    assert df.set_index("trial_id")["curve_val_loss"].isna()["old"]  # a column it lacks: null
    assert len(problems) == 2 and any("corrupt.parquet" in p for p in problems)
    assert any("foreign.parquet" in p and "no trial_id" in p for p in problems)


def test_empty_or_missing_folder(tmp_path):
    df, problems = store.read_results(tmp_path / "missing")
    assert df.empty and problems == [] and list(df.columns) == store.SCHEMA.names


def test_a_trial_is_never_counted_twice(tmp_path):
    first = store.write_row(tmp_path, row("a", final_val_loss=1.0))
    store.write_row(tmp_path, row("a", final_val_loss=1.0))  # two runs finishing the same trial: one file
    assert [p.name for p in (tmp_path / "suite=s").iterdir()] == ["a.parquet"]
    (tmp_path / "suite=copy").mkdir()
    (tmp_path / "suite=copy" / "a.parquet").write_bytes(first.read_bytes())  # a suite folder copied
    df, problems = store.read_results(tmp_path)
    assert list(df["trial_id"]) == ["a"] and len(problems) == 1 and "more than one file" in problems[0]


def test_killed_writer_leaves_only_a_hidden_temporary(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    code = ("import sys, os, signal, pyarrow as pa, pyarrow.parquet as pq\n"  # dies mid-write, like a killed run
            "path = os.path.join(sys.argv[1], '.t.parquet.1.tmp')\n"
            "w = pq.ParquetWriter(path, pa.schema([('trial_id', pa.string())]))\n"
            "w.write_table(pa.table({'trial_id': ['t'] * 100000}))\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    folder = tmp_path / "suite=s"
    folder.mkdir()
    r = subprocess.run([sys.executable, "-c", code, str(folder)])
    assert r.returncode == -signal.SIGKILL and os.listdir(folder) == [".t.parquet.1.tmp"]
    store.write_row(tmp_path, row("b"))
    df, problems = store.read_results(tmp_path)
    assert problems == [] and list(df["trial_id"]) == ["b"] and store.stored_ids(tmp_path, "s") == {"b"}


def test_every_file_records_its_format_and_a_file_that_is_no_trial_counts_as_not_stored(tmp_path):
    from harness.store import index

    path = store.write_row(tmp_path, row("a"))
    assert pq.read_schema(path).metadata[index.FORMAT_KEY] == str(index.FORMAT).encode()
    folder = tmp_path / "suite=s"
    pq.write_table(pa.table({"trial_id": ["m"], "status": ["ok"]}), folder / "m.parquet")  # no identity, no loss
    store.write_row(tmp_path, row("n", final_val_loss=float("nan")))  # ok with a NaN loss
    outcomes = store.outcomes(tmp_path, "s").set_index("trial_id")["status"]
    assert outcomes.to_dict() == {"a": "ok", "m": "error", "n": "error"}  # never a finished trial
    moved = store.set_aside(tmp_path, "s")
    assert [m.split(" -> ")[0] for m in moved] == [str(folder / "m.parquet"), str(folder / "n.parquet")]
    assert "no suite" in moved[0] and "status ok without a finite final_val_loss" in moved[1]
    assert store.stored_ids(tmp_path, "s") == {"a"}


def test_many_small_files_read_together_equal_reading_them_one_by_one(tmp_path, monkeypatch):
    """``scan.read_small`` (DuckDB over the files together) takes and refuses exactly what the per-file reader
    does, with the same words, whatever is wrong with a file."""
    from harness.store import scan
    from harness.store.schema import SCHEMA

    for i in range(40):
        store.write_row(tmp_path, row(f"t{i:02d}", study_id="st", phase="tune", method="adamw", seed=i,
                                      final_val_loss=1.0 + i))
    folder = tmp_path / "suite=s"
    whole = {"suite": "s", "study_id": "st", "phase": "tune", "method": "adamw", "seed": 0, "status": "ok"}
    bad = {"b_int_id": {**whole, "trial_id": 7, "final_val_loss": 1.0},
           "b_status": {**whole, "trial_id": "b_status", "status": "fine", "final_val_loss": 1.0},
           "b_no_suite": {"trial_id": "b_no_suite", "status": "ok", "final_val_loss": 1.0},
           "b_other": {**whole, "trial_id": "t00", "final_val_loss": 1.0},
           "b_nan": {**whole, "trial_id": "b_nan", "final_val_loss": float("nan")},
           "b_int_loss": {**whole, "trial_id": "b_int_loss", "final_val_loss": 3}}
    for name, values in bad.items():
        pq.write_table(pa.table({k: [v] for k, v in values.items()}), folder / f"{name}.parquet")
    newer = pa.table({k: [v] for k, v in {**whole, "trial_id": "b_newer", "final_val_loss": 1.0}.items()})
    pq.write_table(newer.replace_schema_metadata({b"speedproof.format": b"99"}), folder / "b_newer.parquet")
    pq.write_table(pa.table({k: [v, v] for k, v in {**whole, "trial_id": "b_two", "final_val_loss": 1.0}.items()}),
                   folder / "b_two.parquet")
    (folder / "b_corrupt.parquet").write_bytes(b"PAR1 not a parquet file")
    paths = sorted(folder.glob("*.parquet"))
    together = scan.read_small(paths, SCHEMA)
    monkeypatch.setattr(scan, "TOGETHER", 10**9)
    alone = scan.read_small(paths, SCHEMA)
    assert together[0].equals(alone[0]) and together[1] == alone[1] and together[2] == alone[2]
    assert together[0].num_rows == 41 and len(together[2]) == 8  # the int loss is a number, the rest refused
