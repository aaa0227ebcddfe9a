"""One-off migration of ``reference/`` (rows of 2026-11-30) to the columns added on 2026-12-07, from what the rows
already hold: the bracket of each run's target crossing (``steps_to_target_lo``, ``time_to_target_lo_s``,
``energy_to_target_lo_j``, ``target_crossing``; from its stored curve, exactly as the trainer now records it) and
the seeds per study that verify planned before adding any (``tuning_seeds=3``, ``tuning_repeats=1``: every cpu
preset's, its first look). Per-example correctness cannot be recovered: those rows say "test-set variance not
measured". Rewrites each suite's compacted file atomically; run from the repository root:
``PYTHONPATH=. .venv/bin/python tools/migrate_reference.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from harness.store import SCHEMA
from harness.train.trainer import target_crossing

FIRST_LOOK = {"tuning_seeds": 3, "tuning_repeats": 1}


def migrate(path: Path) -> int:
    rows = pq.read_table(path).to_pylist()
    for row in rows:
        first, crossing = target_crossing(row.get("curve_val_loss") or [], row.get("target_value") or float("-inf"))
        if first is not None and row.get("status") == "ok":
            for column, curve, zero in (("steps_to_target_lo", "curve_step", 0), ("time_to_target_lo_s", "curve_time_s",
                                        0.0), ("energy_to_target_lo_j", "curve_energy_j", 0.0)):
                values = row.get(curve) or []
                row[column] = (values[first - 1] if first and len(values) >= first else zero) if values else None
            row["target_crossing"] = crossing
        for key, value in FIRST_LOOK.items():
            row[key] = row.get(key) or value
        row["repeat"] = row.get("repeat") or 0
    table = pa.Table.from_pylist([{k: r.get(k) for k in SCHEMA.names} for r in rows], schema=SCHEMA)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return len(rows)


def main(root: str = "reference") -> None:
    for path in sorted(Path(root).glob("suite=*/compacted-*.parquet")):
        print(f"{path}: {migrate(path)} rows")


if __name__ == "__main__":
    main(*sys.argv[1:])
