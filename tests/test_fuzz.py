"""A grammar of hostile suite files and overrides: 0 tracebacks over >= 2,000 inputs, every rejection one line and
exit 2, nothing written, no environment variable read.

In-process (``harness.cli.main``), so that 2,000 inputs take seconds; test_hardening.py checks real processes.
"""

from __future__ import annotations

import os
import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main

SECRET = "s3cr3t-fuzz-value"
BASE = {"include": "_defaults.yaml", "methods": ["adamw", "sgd"],
        "workloads": {"quadratic": {"scales": ["tiny"], "budgets": [1]}}, "tuning": {"trials": 2, "seeds": 1}}
TOP = ["include", "name", "version", "description", "kind", "baseline", "methods", "optimizer", "schedule",
       "training_method", "workloads", "hparams", "tuning", "train", "data", "results", "executor", "workers",
       "threads", "shard", "ray", "presets", "trian", "bogus", "é", "1"]
SUB = ["scales", "budgets", "evals", "trials", "seeds", "grid", "lr", "weight_decay", "path", "address", "protocol",
       "quadratic", "gpt", "base", "trainer", "smoke", "device", "batch_size", "tune", "kill_after_s", "x"]
STRINGS = ["${oc.env:FUZZ_SECRET}", "${oc.env:FUZZ_SECRET,x}", "${oc.decode:'1'}", "${oc.create:{a: 1}}",
           "${train.evals}", "${nope}", "${", "\\${oc.env:FUZZ_SECRET}", "x${oc.env:FUZZ_SECRET}",
           "${a.${oc.env:HOME}}",
           "../../x", "/etc/passwd", "/nonexistent", "results", ".", "evil:Opt", "os:system", "pytorch_optimizer.Lion",
           "adamw", "sgd", "quadratic", "tiny", "base", "trainer", "cpu", "cuda", "gpu", "pool", "ray", "auto", "0/2",
           "nm_sparsity(recipe=sr_ste)", "adamw(lr=nan)", "\u202e", "🙂", "日本", "\x00", "a" * 300, "", " ", "~",
           "null"]
NUMBERS = st.one_of(st.integers(-3, 10), st.sampled_from([0, -1, 10**400, -(10**400), 2**63, 1e309, -1e309, 1e-320]),
                    st.floats(allow_nan=True, allow_infinity=True))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.sampled_from(STRINGS), st.text(max_size=8))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(SUB) | st.text(string.ascii_lowercase, max_size=5), inner, max_size=3),
    max_leaves=8,
)
RAW = ["", "a: &x [*x]\n", "a: &x {k: *x}\n", "anchors: &a {evals: 3}\ntrain: *a\n", "include: ../../etc/passwd\n",
       "include: /etc/passwd\n", "include: [_defaults.yaml, _defaults.yaml]\n", "results: /tmp/speedproof-fuzz\n",
       'version: "${oc.env:FUZZ_SECRET}"\n', "methods: ['evil:Opt']\n", "x: " + "[" * 300 + "]" * 300 + "\n",
       "train: !!python/object/apply:os.system ['true']\n", "train: !!binary aGk=\n", "\tmethods: [a]\n",
       "workloads: {base: {scales: [x], budgets: [1]}}\n", "workloads: [quadratic]\n", "presets: {p: [1, 2]}\n",
       "trian: {evals: 3}\n", "hparams: {lr: .nan}\n", "hparams: {weight_decay: -1e309}\n", "data: {path: 1}\n",
       "train: {device: gpu}\n", "tuning: [a, b]\n", "budgets: 1e99999\n", "? [a]\n: b\n", "%YAML 9.9\n---\na: 1\n"]
OVERRIDE_KEYS = ["hparams.lr", "hparams.weight_decay", "hparams", "tuning", "tuning.grid.lr", "data.path",
                 "train.device", "version", "results", "method", "preset", "workload", "scale", "budget", "train.evals",
                 "workers",
                 "executor", "include", "trian.evals", "methods", "baseline", "shard", "ray.address"]
NASTY = STRINGS + ["[a,b]", "[1,2]", "nan", "abc", "-1e309", "2", "{a: 1}"]
OVERRIDES = st.lists(st.tuples(st.sampled_from(OVERRIDE_KEYS), st.sampled_from(NASTY)), max_size=2)


def suite_text(data: dict, raw: str) -> str:
    try:
        text = yaml.safe_dump({**BASE, **data}, allow_unicode=True)
    except (yaml.YAMLError, ValueError):  # a value the dumper cannot write: the raw part alone
        text = yaml.safe_dump(BASE)
    return text + raw


def test_no_traceback_over_2000_hostile_suites_and_overrides(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FUZZ_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    suite = tmp_path / "fuzz.yaml"
    results = tmp_path / "out"
    ran = []

    @settings(max_examples=2000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(st.sampled_from(TOP), VALUES, max_size=4), st.sampled_from(RAW), OVERRIDES,
           st.sampled_from(["validate", "validate", "run", "report"]))
    def one(data, raw, overrides, command):
        suite.write_text(suite_text(data, raw), errors="surrogatepass")
        args = [f"{k}={v}" for k, v in overrides]
        if command == "run":  # only inputs that must fail before any trial: an unknown key comes last
            args.append("trian.evals=3")
        try:
            code = main([command, f"suite={suite}", *args])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        ran.append(code)
        assert code in (0, 2), (data, raw, args, code, err)
        assert "Traceback" not in err and SECRET not in out + err
        if code == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("harness: error: "), (data, raw, args, err)
        assert sorted(os.listdir(tmp_path)) == ["fuzz.yaml"] and not results.exists()  # nothing written

    one()
    assert len(ran) >= 2000 and ran.count(2) > 1000 and ran.count(0) > 10, (len(ran), ran.count(0))
