"""Suite files + Hydra-style ``key=value`` overrides, merged with OmegaConf and validated up front.

``suite=NAME`` reads ``suites/NAME.yaml`` (or ``suite=path/to/file.yaml``); a suite file may
``include:`` other files (merged first; looked up beside it, then in ``suites/``). Every key a user may set is in
``suites/_defaults.yaml``; anything else is an error with a "did you mean". Shortcuts:
``suite=``, ``preset=`` (merges ``presets.<name>``), ``method=a,b``, ``workload=``, ``scale=``,
``budget=`` (filters). Nothing runs until the whole configuration validates.

What a suite file may not do (docs/security.md): call a resolver (``${oc.env:...}``; only ``${other.key}``
interpolations), name a class by import path (``pkg.mod:Class`` is a command-line choice), include a file
outside its folder or ``suites/``, or put ``results`` outside the working directory.
"""

from __future__ import annotations

import math
import os
import re
from functools import cache
from pathlib import Path

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from harness.contracts import catalog, registry
from harness.contracts.interface import KINDS
from harness.errors import ConfigError, suggest
from harness.train import workloads

SUITES = Path(__file__).resolve().parent.parent / "suites"
SHORTCUTS = ("suite", "preset", "method", "workload", "scale", "budget")
FREE = ("hparams", "presets", "workloads", "data", "tuning.grid")  # sections whose sub-keys are not fixed in advance
PLAIN = re.compile(r"\$\{[\w.\-\[\]\s]*\}")  # ${other.key}: the only interpolation allowed
MAX_VALUES = 100_000  # a suite file has hundreds
ROLES = ("methods", "baseline", "optimizer", "schedule", "training_method")  # keys that name methods


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITES.glob("*.yaml") if not p.stem.startswith("_"))


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # safe, in C
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path.name}: malformed YAML{where}: {getattr(exc, 'problem', exc)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read suite file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: a suite file must be a mapping of keys, got {type(data).__name__}")
    _no_resolvers(data, path.name)
    return data


def _no_resolvers(data, where: str) -> None:
    """Only ``${other.key}`` interpolations: a resolver (``${oc.env:SECRET}``) would read the machine.

    Also refuses YAML aliases that refer to themselves or multiply a small file past ``MAX_VALUES`` values.
    """
    stack, count = [(data, ())], 0
    while stack:
        value, parents = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ConfigError(f"{where}: more than {MAX_VALUES} values (YAML aliases that multiply?)")
        if any(value is p for p in parents):
            raise ConfigError(f"{where}: a YAML alias refers to itself")
        if isinstance(value, dict | list):
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((v, (*parents, value)) for v in items)
        elif isinstance(value, str):
            rest = value
            while PLAIN.search(rest):
                rest = PLAIN.sub("", rest)
            if "${" in rest:
                raise ConfigError(f"{where}: {value!r}: only ${{other.key}} interpolations are allowed, no resolvers")


def _load_file(path: Path, seen: tuple = ()) -> DictConfig:
    if path in seen:
        raise ConfigError(f"{path.name}: include cycle")
    data = _read_yaml(path)
    includes = data.pop("include", []) or []
    _check_file_keys(data, path.name)
    base = None
    if not isinstance(includes, str | list) or not all(isinstance(n, str) for n in includes):
        raise ConfigError(f"{path.name}: include must be a file name or a list of them, got {includes!r}")
    for name in [includes] if isinstance(includes, str) else includes:
        inc = path.parent / name if (path.parent / name).is_file() else SUITES / name
        if not any(_inside(inc, folder, real=True) for folder in (path.parent, SUITES)):
            raise ConfigError(f"{path.name}: included file {name!r} is outside {path.parent} and {SUITES}")
        if not inc.is_file():
            raise ConfigError(f"{path.name}: included file {name!r} not found")
        loaded = _load_file(inc, seen + (path,))
        base = loaded if base is None else OmegaConf.merge(base, loaded)
    try:
        return OmegaConf.create(data) if base is None else OmegaConf.merge(base, OmegaConf.create(data))
    except (OmegaConfBaseException, TypeError, ValueError) as exc:
        raise ConfigError(f"{path.name}: {str(exc).splitlines()[0]}") from None


def _inside(path: Path, folder: Path, real: bool = False) -> bool:
    """Whether ``path`` lies in ``folder``, by name (``real``: symbolic links followed, as a read would)."""
    where = os.path.realpath if real else os.path.abspath
    return Path(where(path)).is_relative_to(where(folder))


def _parse(args: list[str]) -> tuple[dict, DictConfig]:
    """Split ``key=value`` arguments into shortcuts and an OmegaConf dot-list."""
    shortcuts, rest = {}, []
    for arg in args:
        key, eq, value = arg.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"expected key=value, got {arg!r}")
        if key in SHORTCUTS:
            shortcuts[key] = value
        else:
            rest.append(arg)
    try:
        overrides = OmegaConf.from_dotlist(rest)
    except (OmegaConfBaseException, yaml.YAMLError, TypeError, ValueError) as exc:
        raise ConfigError(f"cannot parse overrides: {str(exc).splitlines()[0]}") from None
    _no_resolvers([*shortcuts.values(), OmegaConf.to_container(overrides, resolve=False)], "overrides")
    return shortcuts, overrides


def _check_keys(overrides, base: DictConfig, prefix: str = "", where: str = "") -> None:
    """Every key of ``overrides`` (a mapping) exists in ``base``; ``where`` starts the message."""
    if isinstance(overrides, DictConfig):
        overrides = OmegaConf.to_container(overrides, resolve=False)
    for key, value in overrides.items():
        path = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(f"{where}unknown key {path!r}{suggest(path, [prefix + str(k) for k in base.keys()])}")
        sub = base[key]
        free = path.split(".")[0] in FREE or path in FREE
        if isinstance(value, dict) and isinstance(sub, DictConfig) and not free:
            _check_keys(value, sub, f"{path}.", where)


@cache
def _defaults() -> DictConfig:
    """``suites/_defaults.yaml``: every key there is (read once; never changed)."""
    return OmegaConf.create(_read_yaml(SUITES / "_defaults.yaml"))


def _check_file_keys(data: dict, file: str) -> None:
    """A suite file's keys, and each preset's, are keys of ``_defaults.yaml``, as on the command line."""
    defaults = _defaults()
    _check_keys(data, defaults, where=f"{file}: ")
    presets = data.get("presets") or {}
    for name, preset in presets.items() if isinstance(presets, dict) else []:
        if not isinstance(preset, dict):
            raise ConfigError(f"{file}: presets.{name} must be a mapping of keys, got {preset!r}")
        _check_keys(preset, defaults, where=f"{file}: presets.{name}: ")


def _check_given_here(cfg: DictConfig, shortcuts: dict, overrides: DictConfig, file: str) -> None:
    """What only the command line may do: write outside the working directory, import a class by path."""
    given = OmegaConf.to_container(overrides, resolve=False)
    if "results" not in given and not _inside(Path(str(cfg.results)), Path.cwd()):
        raise ConfigError(f"{file}: results {cfg.results!r} is outside the working directory; "
                          "give results=PATH on the command line to write there")
    typed = set(_as_list(shortcuts.get("method", "")))
    for role in ROLES:
        typed.update(_as_list(given[role]) if given.get(role) is not None else [])
    for name in [*cfg.methods, *(cfg[r] for r in ROLES[1:])] if isinstance(cfg.methods, ListConfig) else []:
        if isinstance(name, str) and name not in typed and re.search(r"[.:]", registry.variant(name)[0]):
            raise ConfigError(f"{file}: {name!r} names a class by import path; only the command line may "
                              f"(e.g. method={name})")


def _as_list(value) -> list:
    if isinstance(value, ListConfig | list | tuple):
        return [str(v) for v in value]
    return [v.strip() for v in re.split(r",(?![^()]*\))", str(value)) if v.strip()]  # not inside name(k=v, ...)


def load(args: list[str], suite: str | None = None) -> DictConfig:
    """The merged, filtered and validated configuration of one suite run."""
    shortcuts, overrides = _parse(args)
    name = shortcuts.get("suite", suite)
    if not name:
        raise ConfigError(f"which suite? add suite=NAME (one of: {', '.join(suite_names())})")
    path = Path(name) if name.endswith((".yaml", ".yml")) else SUITES / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(suite_names())
        raise ConfigError(f"unknown suite {name!r}{suggest(name, suite_names())}; available: {known}")
    name = path.stem
    try:
        cfg = _load_file(path)
        if "preset" in shortcuts:
            presets, preset = cfg.get("presets") or {}, shortcuts["preset"]
            if preset not in presets:
                raise ConfigError(f"suite {name!r} has no preset {preset!r}{suggest(preset, presets)}")
            if "workloads" in presets[preset]:  # a preset's workloads replace the suite's, not merge
                cfg.workloads = {}
            cfg = OmegaConf.merge(cfg, presets[preset])
        _check_keys(overrides, cfg)
        cfg = OmegaConf.merge(cfg, overrides)
        OmegaConf.resolve(cfg)  # a bad ${interpolation} fails here, not in the middle of a run
        _check_shapes(cfg)
        cfg.name = name
        _apply_filters(cfg, shortcuts)
        _check_given_here(cfg, shortcuts, overrides, path.name)
        validate(cfg)
    except (OmegaConfBaseException, TypeError, ValueError) as exc:  # OmegaConf's merge raises the plain ones too
        raise ConfigError(str(exc).splitlines()[0]) from None
    except RecursionError:
        raise ConfigError(f"{path.name}: nested too deeply (a YAML alias that refers to itself?)") from None
    return cfg


def _apply_filters(cfg: DictConfig, shortcuts: dict) -> None:
    if "method" in shortcuts:
        cfg.methods = _as_list(shortcuts["method"])
    if "workload" in shortcuts:
        wanted = _as_list(shortcuts["workload"])
        for w in wanted:
            if w not in cfg.workloads:
                raise ConfigError(f"suite {cfg.name!r} has no workload {w!r}{suggest(w, cfg.workloads)}")
        cfg.workloads = {w: cfg.workloads[w] for w in wanted}
    for key, field in (("scale", "scales"), ("budget", "budgets")):
        if key in shortcuts:
            wanted = _as_list(shortcuts[key])
            for spec in cfg.workloads.values():
                spec[field] = [v for v in spec[field] if str(v) in wanted] or (
                    [_number(v, "budget") for v in wanted] if key == "budget" else wanted
                )


def _number(text: str, key: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not _fits(value, _NUM):
        raise ConfigError(f"{key} must be positive numbers, got {text!r}")
    return value


_STR, _NUM, _INT, _MAP, _NAMES = "a string", "a positive number", "an integer >= 0", "a mapping", "a list of names"
SHAPES = {  # the shape of every fixed key (mappings first: their sub-keys are read after them)
    "tuning": _MAP, "train": _MAP, "ray": _MAP, "verify": _MAP, "workloads": _MAP, "hparams": _MAP,
    "presets": _MAP, "data": _MAP,
    "kind": _STR, "baseline": _STR, "optimizer": _STR, "schedule": _STR, "results": _STR, "executor": _STR,
    "tuning.protocol": _STR, "train.device": _STR, "methods": _NAMES, "tuning.tune": _NAMES,
    "tuning.seed": _INT, "train.warmup_steps": _INT, "train.divergence_factor": _NUM, "train.time_limit_s": _NUM,
}
NULLABLE = {"training_method": _STR, "data.path": _STR}
MAX_COUNT, MAX_BUDGET = 100_000, 1e6  # trials, seeds, evaluations, batch size; budgets (x Chinchilla): int64 holds them


def _fits(value, shape: str) -> bool:
    if shape == _STR:
        return isinstance(value, str) and bool(value.strip())
    if shape == _NUM:
        return isinstance(value, int | float) and not isinstance(value, bool) and value > 0 and math.isfinite(value)
    if shape == _INT:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if shape == _MAP:
        return isinstance(value, DictConfig)
    return isinstance(value, ListConfig) and all(isinstance(v, str) for v in value)


def _check_shapes(cfg: DictConfig) -> None:
    """Types first, so that no later check trips over a number where a list belongs."""
    for key, shape in [*SHAPES.items(), *NULLABLE.items()]:
        value = OmegaConf.select(cfg, key)
        if not (key in NULLABLE and value is None) and not _fits(value, shape):
            raise ConfigError(f"{key} must be {shape}{' or null' if key in NULLABLE else ''}, got {value!r}")
    for w, spec in cfg.workloads.items():
        if not isinstance(spec, DictConfig) or not _fits(spec.get("scales"), _NAMES) or len(spec) != 2:
            raise ConfigError(f"workloads.{w} must be a mapping with scales: [names] and budgets: [numbers]")
        for field in ("budgets", "baseline_budgets"):
            budgets = spec.get(field)
            if field == "baseline_budgets" and budgets is None:
                continue
            if not isinstance(budgets, ListConfig) or not all(_fits(b, _NUM) for b in budgets):
                raise ConfigError(f"workloads.{w}.{field} must be a list of positive numbers, got {budgets!r}")


def _positive_int(cfg: DictConfig, key: str, most: int = MAX_COUNT) -> None:
    value = OmegaConf.select(cfg, key)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= most:
        raise ConfigError(f"{key} must be a positive integer up to {most}, got {value!r}")


def _validate_executor(cfg: DictConfig) -> None:
    from harness.run.options import EXECUTORS, parse_shard

    if cfg.executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {cfg.executor!r}{suggest(cfg.executor, EXECUTORS)}; available: "
                          + ", ".join(EXECUTORS))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    _positive_int(cfg, "workers", cores if cfg.executor == "pool" and cfg.train.device == "cpu" else MAX_COUNT)
    if cfg.threads is not None:
        _positive_int(cfg, "threads", cores)  # more threads than cores only slows every trial down
    if cfg.executor == "local" and cfg.workers != 1:
        raise ConfigError(f"workers={cfg.workers} needs executor=pool or executor=ray (local runs one at a time)")
    try:
        parse_shard(cfg.shard)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    address = cfg.ray.address
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise ConfigError(f"ray.address must be null, 'auto' or 'host:port', got {address!r}")
    if address is not None and cfg.executor != "ray":
        raise ConfigError("ray.address is only used with executor=ray")
    limit = cfg.train.kill_after_s
    if limit is not None and (not isinstance(limit, int | float) or isinstance(limit, bool) or not limit > 0):
        raise ConfigError(f"train.kill_after_s must be null or a positive number of seconds, got {limit!r}")


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_hparams(cfg: DictConfig) -> None:
    """Fixed hyperparameters are scalars; where a method's default is a number, a finite number."""
    from harness.run.tuning import _parts

    numeric = set()
    for method in dict.fromkeys([cfg.baseline, *cfg.methods]):
        for part in _parts(cfg, str(method)).values():
            numeric.update(k for k, v in part.defaults.items() if _is_number(v))
    for key, value in cfg.hparams.items():
        if isinstance(value, DictConfig | ListConfig) or (isinstance(value, float) and not math.isfinite(value)):
            raise ConfigError(f"hparams.{key} must be a finite number, a string or true/false, got {value!r}")
        if key in numeric and not _is_number(value):
            raise ConfigError(f"hparams.{key} must be a number, got {value!r}")


def validate(cfg: DictConfig) -> None:
    """Every check that can fail before any trial starts."""
    _validate_executor(cfg)
    try:
        (Path(str(cfg.results)) / f"suite={cfg.name}").exists()
    except OSError as exc:  # a name too long for the file system, ...
        raise ConfigError(f"results={cfg.results}: not a usable folder ({exc.strerror})") from None
    for key in ("tuning.trials", "tuning.seeds", "train.evals", "verify.max_seeds"):
        _positive_int(cfg, key)
    if cfg.train.batch_size is not None:
        _positive_int(cfg, "train.batch_size")
    if not isinstance(cfg.train.codecarbon, bool):
        raise ConfigError(f"train.codecarbon must be true or false, got {cfg.train.codecarbon!r}")
    if cfg.train.precision not in ("fp32", "bf16") or not isinstance(cfg.train.compile, bool):
        raise ConfigError(f"train.precision must be fp32 or bf16 and train.compile true or false, got "
                          f"{cfg.train.precision!r} and {cfg.train.compile!r}")
    kind = cfg.kind
    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    if not cfg.methods:
        raise ConfigError("no methods to run (methods= is empty)")
    wanted = [(kind, m) for m in [*cfg.methods, cfg.baseline]]
    wanted += [(role, cfg[role]) for role in ("optimizer", "schedule")]  # tuning builds the fixed ones too
    wanted += [("method", cfg.training_method)] if cfg.training_method else []
    for role, name in wanted:
        try:
            catalog.entry(role, str(name))
        except KeyError as exc:
            raise ConfigError(exc.args[0]) from None
    cfg.methods = [catalog.entry(kind, m).name for m in cfg.methods]  # variants spelled one way: one study
    cfg.baseline = catalog.entry(kind, cfg.baseline).name
    for t in cfg.tuning.tune:
        if t not in ("method", "optimizer", "schedule"):
            raise ConfigError(f"tuning.tune entries must be method, optimizer or schedule, got {t!r}")
    if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", str(cfg.train.device)):
        raise ConfigError(f"train.device must be cpu, cuda, cuda:N or mps, got {cfg.train.device!r}")
    _check_hparams(cfg)
    if not cfg.workloads:
        raise ConfigError("no workloads to run")
    scales = workloads.scale_names()
    data = {**OmegaConf.to_container(cfg.data), "batch_size": cfg.train.batch_size}
    for w, spec in cfg.workloads.items():
        if w not in scales:
            raise ConfigError(f"unknown workload {w!r}{suggest(str(w), scales)}")
        for s in spec.scales:
            if s not in scales[w]:
                raise ConfigError(f"workload {w!r} has no scale {s!r}{suggest(s, scales[w])}; "
                                  f"its scales: {', '.join(scales[w])}")
        for b in spec.budgets:
            if not _fits(b, _NUM) or b > MAX_BUDGET:
                raise ConfigError(f"budgets must be positive multiples of the Chinchilla budget up to {MAX_BUDGET:g}, "
                                  f"got {b!r}")
        if not spec.scales or not spec.budgets:
            raise ConfigError(f"workload {w!r}: no scales or no budgets left to run")
        for s in spec.scales:  # a workload that reads files checks them here, before any trial (and counts its size)
            try:
                workloads.sizes(w, s, data)
            except (ValueError, TypeError, OSError) as exc:
                raise ConfigError(str(exc).splitlines()[0]) from None
    from harness.run import protocols

    protocols.check(cfg)
