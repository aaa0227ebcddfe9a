"""``harness``: run, verify, report, ls, validate, dashboard.

Arguments after the subcommand are Hydra-style ``key=value`` overrides. Every user error is one
line on stderr and exit code 2; nothing is written before the configuration validates.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

from harness.errors import ConfigError, counted
from harness.spec import keys

FORMATS = ("terminal", "markdown", "csv", "json")  # how harness.report prints tables
_STORE = {"results": ("results", "the results folder"), "suite": ("all", "one suite's results (its name)")}
OPTIONS = {  # the keys of the commands that take no run specification: key -> (default, what it does)
    "report": _STORE,
    "compact": _STORE,
    "dashboard": {"results": _STORE["results"], "port": ("8501", "the port to listen on, 1..65535"),
                  "host": ("127.0.0.1", "the address to listen on (0.0.0.0 exposes it to the network)")},
}


def _options(args) -> dict[str, str]:
    """The ``key=value`` arguments of a command in ``OPTIONS``, each key known, a suite name a suite's."""
    allowed = OPTIONS[args.command]
    opts = dict(o.partition("=")[::2] for o in args.overrides)
    unknown = set(opts) - set(allowed)
    if unknown:
        allowed_text, unknown_text = ", ".join(sorted(allowed)), ", ".join(sorted(unknown))
        raise ConfigError(f"harness {args.command} takes {allowed_text}, not {unknown_text}")
    if "suite" in opts and not _suite_name(opts["suite"]):
        raise ConfigError(f"suite={opts['suite']}: a suite's name holds letters, digits, '_', '.' and '-' only")
    return opts


def _suite_name(name: str) -> bool:
    """Whether ``name`` may name a suite (``harness.store.index.NAME``, imported only when a suite is named)."""
    from harness.store.index import NAME

    return bool(NAME.fullmatch(name))


def _suite_rows(spec, studies):
    """Stored rows of these studies (other scales, methods or budgets of the suite left out)."""
    from harness import store
    from harness.report import ROW_COLUMNS

    rows, problems = store.read_results(Path(spec.results), spec.name, columns=ROW_COLUMNS)
    _warn(problems)
    return rows[rows["study_id"].isin({t.study_id for t in studies})]


def _cmd_run(args) -> int:
    """Run a suite (resuming), then print its leaderboard."""
    from harness import config
    from harness.report import print_grid, print_leaderboard
    from harness.run import protocols
    from harness.run.executors import run_suite
    from harness.run.studies import expand

    spec = config.load(args.overrides)
    studies = expand(spec)
    outcome = run_suite(spec, show=not args.quiet, studies=studies)
    rows = _suite_rows(spec, studies)
    print(f"{counted(outcome['ran'], 'trial')} run; {len(rows)} stored for these studies of suite {spec.name!r} in "
          f"{spec.results}/")
    if not protocols.get(spec.tuning.protocol).final_phase:  # a grid: the batch-size rule
        print_grid(rows, args.format)
    else:
        print_leaderboard(rows, spec.baseline, args.format)
    return 1 if outcome["missing"] else 0  # trials of this run left unstored (worker died, killed): rerun


def _cmd_validate(args) -> int:
    """Check a configuration without running it."""
    from harness import config
    from harness.run import protocols
    from harness.run.options import Options
    from harness.run.plan import make_plan, measure
    from harness.run.studies import expand

    spec = config.load(args.overrides)
    studies = expand(spec)
    print(f"suite {spec.name!r} is valid: {protocols.get(spec.tuning.protocol).describe(spec, studies)}")
    opts = Options.from_spec(spec)
    plan = make_plan(spec, studies, opts.threads, shard=opts.shard, parallel=opts.parallel)
    if args.measure and plan.unmeasured:  # a few steps of each unmeasured method, then the plan again
        print(f"measuring {counted(len(plan.unmeasured), 'step time')} ...", flush=True)
        measure(plan)
        plan = make_plan(spec, studies, opts.threads, shard=opts.shard, parallel=opts.parallel)
    print(plan.text())
    return 0


def _cmd_report(args) -> int:
    """Leaderboards with intervals from stored results (no training)."""
    opts = _options(args)
    results = _results_folder(opts)
    _remembered(results, opts.get("suite"), args.format)
    return 0


def _report(results: Path, suite: str | None, fmt: str) -> list[str]:
    """Print the leaderboard (or the batch-size rule) of each suite's rows; returns the skipped files' problems."""
    from harness import store
    from harness.report import ROW_COLUMNS, print_grid, print_leaderboard

    rows, problems = store.read_results(results, suite, columns=ROW_COLUMNS)
    _warn(problems)
    for name, part in rows.groupby("suite", observed=True) if len(rows) else []:
        if (part["phase"] == "grid").all():
            print_grid(part, fmt)
        else:
            print_leaderboard(part, _baseline(str(name), part), fmt)
    if rows.empty:
        print(f"No results in {results}/ yet.")
    return problems


ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("harness/**/*.py", "implementations/**/*.py", "suites/*.yaml")  # what a report is made of, besides rows


class _Copy:
    """``sys.stdout`` that keeps a copy of what is written; rich asks it (as it would the stream) whether it is a
    terminal and how it encodes."""

    def __init__(self, stream):
        self.stream, self.parts = stream, []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return self.stream.write(text)

    def __getattr__(self, name):  # isatty, encoding, flush, fileno, ...: the stream's
        return getattr(self.stream, name)


def _console(fmt: str) -> list:
    """What rich's terminal tables depend on besides the rows (colours, a terminal, the width, the encoding)."""
    if fmt != "terminal":
        return []
    from rich.console import Console

    c = Console(width=200)  # as harness.report.emit makes it
    return [c.color_system, c.is_terminal, c.is_dumb_terminal, c.is_jupyter, c.legacy_windows, c.no_color,
            c.encoding, c.width, c.options.ascii_only]


def _kept(results: Path, suite: str | None, fmt: str) -> Path | None:
    """The cache file (``harness.cache``) of this report's output: its name changes with the results files
    (``cache.results_stamp``), the code and suite files (``SOURCES``, Python and the installed
    packages: ``cache.stamp``), the results folder as named, the working directory, the format and the console. None
    where it cannot be named (a file removed meanwhile) or copied (rich's own proxy of stdout, a live display: rich
    writes past a copy)."""
    from harness import cache

    if hasattr(sys.stdout, "rich_proxied_file"):
        return None
    try:
        seen = cache.results_stamp(results, f"suite={suite}/*.parquet" if suite else "suite=*/*.parquet")
        code = cache.stamp(sorted(p for pattern in SOURCES for p in ROOT.glob(pattern)))
    except OSError:
        return None
    place = hashlib.sha1(json.dumps([str(results), os.getcwd(), suite, fmt, _console(fmt)]).encode()).hexdigest()
    stamp = hashlib.sha1(json.dumps([code, seen]).encode()).hexdigest()
    return cache.folder() / "report" / f"{place[:16]}-{stamp[:16]}.json"


def _remembered(results: Path, suite: str | None, fmt: str) -> None:
    """``_report``, or what it printed (warnings, then the text) the last time, read back from its cache file
    (``_kept``): no pandas, no statistics. A copy that cannot be read is made again; one that cannot be written is
    skipped."""
    from harness import cache

    path = _kept(results, suite, fmt)
    try:
        kept = json.loads(path.read_text()) if path else None
        kept = (list(kept["warnings"]), str(kept["text"])) if kept else None
    except (OSError, ValueError, KeyError, TypeError):
        kept = None
    if kept:
        _warn(kept[0])
        sys.stdout.write(kept[1])
        return
    copy = _Copy(sys.stdout)
    sys.stdout = copy
    try:
        warnings = _report(results, suite, fmt)
    finally:
        sys.stdout = copy.stream
    if path:
        cache.save(path, json.dumps({"warnings": warnings, "text": "".join(copy.parts)}))


def _cmd_compact(args) -> int:
    """Merge each suite's per-trial files into one Parquet file (results=PATH suite=NAME)."""
    from harness.store.compact import compact

    opts = _options(args)
    results = _results_folder(opts)
    warnings: list[str] = []
    done = compact(results, opts.get("suite"), warnings=warnings)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    for suite, rows in done.items():
        print(f"suite {suite}: {counted(rows, 'row')} in one compacted file")
    if not done:
        print(f"Nothing to compact in {results}/.")
    return 0


def _results_folder(opts: dict) -> Path:
    results = Path(opts.get("results", "results"))
    try:
        if results.is_dir():
            return results
    except OSError as exc:  # a name too long for the file system, ...
        raise ConfigError(f"results={results}: not a usable folder ({exc.strerror})") from None
    raise ConfigError(f"no results folder at {results}")


def _baseline(suite: str, rows) -> str:
    """The baseline the rows recorded; else the suite file's; else the method most often compared against."""
    from harness.stats.analysis import recorded_baseline

    if "baseline" in rows and rows["baseline"].notna().any():
        return recorded_baseline(rows)
    from harness import config

    try:
        return config.load([f"suite={suite}"]).baseline
    except ConfigError:
        return recorded_baseline(rows)


def _cmd_verify(args) -> int:
    """Run what is missing for a method's claims (method and baselines, equally tuned), then judge them."""
    from harness import verify

    rest = [o for o in args.overrides if not o.startswith(("method=", "suite="))]
    names = [o.partition("=")[2] for o in args.overrides if o.startswith("method=")]
    if len(names) != 1 or not names[0]:
        raise ConfigError("which method? add method=NAME, e.g. harness verify method=muon")
    return verify.main(names[0], rest, args.format, args.quiet, reference=args.reference, plan_only=args.plan)


def _cmd_dashboard(args) -> int:
    """The Streamlit dashboard on 127.0.0.1 (results=PATH port=N host=H)."""
    from dashboard.launch import launch

    opts = _options(args)
    port = opts.get("port", "8501")
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ConfigError(f"port must be a number from 1 to 65535, got {port!r}")
    return launch(str(_results_folder(opts)), int(port), opts.get("host", "127.0.0.1"))


def _cmd_ls(args) -> int:
    """Methods (unavailable ones with the reason), workloads and suites."""
    from harness import config
    from harness.contracts.catalog import catalog
    from harness.train.workloads import scale_names

    for kind, entries in catalog().items():
        print(f"{kind}s:")
        for name, e in entries.items():
            print(f"  {name:<20} {e.summary if e.reason is None else f'UNAVAILABLE: {e.reason}'}")
    print("workloads:")
    for name, scales in scale_names().items():
        print(f"  {name:<20} scales: {', '.join(scales)}")
    print("suites:")
    for name in config.suite_names():
        print(f"  {name}")
    return 0


def _warn(problems: list[str]) -> None:
    for p in problems:
        print(f"warning: skipped unreadable results file {p}", file=sys.stderr)


COMMANDS = {"run": _cmd_run, "verify": _cmd_verify, "report": _cmd_report, "compact": _cmd_compact, "ls": _cmd_ls,
            "validate": _cmd_validate, "dashboard": _cmd_dashboard}


SUITE_COMMANDS = ("run", "validate", "verify")  # their overrides are the run specification's keys
KEYS = ("shortcuts: suite=NAME preset=NAME method=a,b workload=W scale=S budget=B\n"
        "keys (key=value; defaults in suites/_defaults.yaml):\n") + "\n".join(
    f"  {key:<24} {default:<14} {text}" for key, default, text in keys())


def _epilog(command: str) -> str | None:
    """The keys a command takes, with their defaults, for its ``--help``."""
    if command in SUITE_COMMANDS:
        return KEYS
    if command in OPTIONS:
        return "keys (key=value):\n" + "\n".join(f"  {key:<24} {default:<14} {text}"
                                                  for key, (default, text) in OPTIONS[command].items())
    return None


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are ours: one line, exit code 2 (not its usage text)."""

    def error(self, message: str):
        raise ConfigError(f"{message} (see {self.prog} --help)")


EXAMPLES = """examples (arguments are key=value overrides of suites/<suite>.yaml; see README.md):
  harness ls                                        methods, workloads, suites
  harness validate suite=optimizers preset=smoke    the plan: trials, steps, estimated time (--measure)
  harness run suite=optimizers preset=smoke         run (resumes), then the leaderboard
  harness verify method=muon preset=cpu             the claim beside the measurement, and a verdict"""


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="harness", description=__doc__.splitlines()[0], epilog=EXAMPLES,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn in COMMANDS.items():
        p = sub.add_parser(name, help=(fn.__doc__ or name), description=fn.__doc__, epilog=_epilog(name),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("overrides", nargs="*", help="key=value overrides")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--format", choices=FORMATS, default="terminal", help="how tables are printed")
        if name == "validate":
            p.add_argument("--measure", action="store_true", help="time a few steps of each unmeasured method")
        if name == "verify":
            p.add_argument("--reference", action="store_true", help="judge this project's reference results "
                           "(reference/, preset=cpu) without running anything")
            p.add_argument("--plan", action="store_true", help="print what verify would run (trials, steps, "
                           "estimated time after timing a few steps of each method) and stop")
    if not (sys.argv[1:] if argv is None else argv):  # bare `harness`: the help, not an error
        parser.print_help()
        return 0
    try:
        args, extra = parser.parse_known_args(argv)
        flags = [e for e in extra if e.startswith("-")]
        if flags:
            raise ConfigError(f"unknown option {flags[0]!r} (see harness {args.command} --help)")
        args.overrides += extra
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted; finished trials are stored, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
