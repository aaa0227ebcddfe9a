"""Suite files + Hydra-style ``key=value`` overrides, merged with OmegaConf into a typed, frozen ``RunSpec``.

``suite=NAME`` reads ``suites/NAME.yaml`` (or ``suite=path/to/file.yaml``); a suite file may ``include:`` other
files (merged first; looked up beside it, then in ``suites/``). The files and the overrides are merged onto the
structured schema of ``harness.spec.RunSpec`` (OmegaConf structured configs from its dataclasses: every key and
its type in one place, ``harness run --help`` lists them): an unknown key at any level, ``hparams`` and ``data``
included, is an error with a "did you mean". Shortcuts: ``suite=``, ``preset=`` (merges ``presets.<name>``),
``method=a,b``, ``workload=``, ``scale=``, ``budget=`` (filters). Each section is then checked by its owner
(``harness.run.options``, ``harness.run.studies``, ``harness.train.workloads``, the tuning protocol). Nothing runs
until the whole specification validates.

What a suite file may not do (docs/security.md): call a resolver (``${oc.env:...}``; only ``${other.key}``
interpolations), name a class by import path (``pkg.mod:Class`` is a command-line choice), include a file
outside its folder or ``suites/``, or put ``results`` outside the working directory. A suite's name is its file
name, letters, digits, ``_``, ``.`` and ``-`` only (it names the results folder).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from functools import cache
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from harness.contracts import registry
from harness.errors import ConfigError, suggest
from harness.run import options, protocols, studies
from harness.spec import RunSpec
from harness.store.index import NAME  # a suite's name: its results folder is suite=<name>
from harness.train import workloads

SUITES = Path(__file__).resolve().parent.parent / "suites"
SHORTCUTS = ("suite", "preset", "method", "workload", "scale", "budget")
FREE = ("hparams", "workloads", "tuning.grid")  # sections whose sub-keys are names, checked by their owners
PLAIN = re.compile(r"\$\{[\w.\-\[\]\s]*\}")  # ${other.key}: the only interpolation allowed
MAX_VALUES = 100_000  # a suite file has hundreds
ROLES = ("methods", "baseline", "optimizer", "schedule", "training_method")  # keys that name methods


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITES.glob("*.yaml") if not p.stem.startswith("_"))


def preset_names(suite: str) -> list[str]:
    """The presets of a suite file (``suite=NAME`` or a path), in the file's order."""
    path = Path(suite) if suite.endswith((".yaml", ".yml")) else SUITES / f"{suite}.yaml"
    return list(_load_file(path).get("presets") or {})


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
    """A suite file with its includes merged in (untyped; ``presets`` still in it)."""
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
        if isinstance(value, dict) and isinstance(sub, DictConfig) and path not in FREE:
            _check_keys(value, sub, f"{path}.", where)


@cache
def _schema() -> DictConfig:
    """The structured schema of ``RunSpec``: every key, its type and its default (read only)."""
    return OmegaConf.structured(RunSpec)


def _check_file_keys(data: dict, file: str) -> None:
    """A suite file's keys, and each preset's, are keys of the schema, as on the command line."""
    schema = _schema()
    _check_keys({k: v for k, v in data.items() if k != "presets"}, schema, where=f"{file}: ")
    presets = data.get("presets") or {}
    if not isinstance(presets, dict):
        raise ConfigError(f"{file}: presets must be a mapping of names to keys, got {presets!r}")
    for name, preset in presets.items():
        if not isinstance(preset, dict):
            raise ConfigError(f"{file}: presets.{name} must be a mapping of keys, got {preset!r}")
        _check_keys(preset, schema, where=f"{file}: presets.{name}: ")


def _check_given_here(spec: RunSpec, shortcuts: dict, overrides: DictConfig, file: str) -> None:
    """What only the command line may do: write outside the working directory, import a class by path."""
    given = OmegaConf.to_container(overrides, resolve=False)
    results, here = Path(spec.results), Path.cwd()
    inside = _inside(results, here) and all(_inside(p, here, real=True) for p in (results,
                                                                                   results / f"suite={spec.name}"))
    if "results" not in given and not inside:
        raise ConfigError(f"{file}: results {spec.results!r} is outside the working directory (symbolic links "
                          "followed); give results=PATH on the command line to write there")
    typed = set(_as_list(shortcuts.get("method", "")))
    for role in ROLES:
        typed.update(_as_list(given[role]) if given.get(role) is not None else [])
    for name in [*spec.methods, *(getattr(spec, r) for r in ROLES[1:])]:
        if isinstance(name, str) and name not in typed and re.search(r"[.:]", registry.variant(name)[0]):
            raise ConfigError(f"{file}: {name!r} names a class by import path; only the command line may "
                              f"(e.g. method={name})")


def _as_list(value) -> list:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [v.strip() for v in re.split(r",(?![^()]*\))", str(value)) if v.strip()]  # not inside name(k=v, ...)


def load(args: list[str], suite: str | None = None) -> RunSpec:
    """The merged, filtered and validated run specification of one suite run."""
    shortcuts, overrides = _parse(args)
    name = shortcuts.get("suite", suite)
    if not name:
        raise ConfigError(f"which suite? add suite=NAME (one of: {', '.join(suite_names())})")
    path = Path(name) if name.endswith((".yaml", ".yml")) else SUITES / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(suite_names())
        raise ConfigError(f"unknown suite {name!r}{suggest(name, suite_names())}; available: {known}")
    if not NAME.fullmatch(path.stem):
        raise ConfigError(f"suite file {path.name!r}: a suite's name (its file name) may hold letters, digits, "
                          "'_', '.' and '-' only (it names the results folder)")
    try:
        merged = _merged(path, shortcuts, overrides)
        spec = dataclasses.replace(OmegaConf.to_object(merged), name=path.stem)
    except ConfigKeyError as exc:
        key = getattr(exc, "full_key", None) or str(exc).split("'")[1]
        raise ConfigError(f"unknown key {key!r}{_did_you_mean(exc, key)}") from None
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or _culprit(path, shortcuts, overrides)
        want = f" must be {_expected(key)}" if _expected(key) else ""
        text = str(exc).splitlines()[0].replace("Value '$VALUE' of type '$VALUE_TYPE'", "a value")
        raise ConfigError((f"{key}{want}: " if key else "") + text) from None
    except (TypeError, ValueError) as exc:  # OmegaConf's merge raises the plain ones too
        raise ConfigError(str(exc).splitlines()[0]) from None
    except RecursionError:
        raise ConfigError(f"{path.name}: nested too deeply (a YAML alias that refers to itself?)") from None
    spec = _apply_filters(spec, shortcuts)
    _check_given_here(spec, shortcuts, overrides, path.name)
    return validate(spec)


def _merged(path: Path, shortcuts: dict, overrides: DictConfig) -> DictConfig:
    """The suite file, its preset and the overrides merged onto the schema (types checked, not yet resolved)."""
    cfg = _load_file(path)
    presets = cfg.pop("presets", None) or {}
    if "preset" in shortcuts:
        preset = shortcuts["preset"]
        if preset not in presets:
            raise ConfigError(f"suite {path.stem!r} has no preset {preset!r}{suggest(preset, presets)}")
        if "workloads" in presets[preset]:  # a preset's workloads replace the suite's, not merge
            cfg.workloads = {}
        cfg = OmegaConf.merge(cfg, presets[preset])
    _check_keys(overrides, _schema())
    return OmegaConf.merge(_schema(), cfg, overrides)


def _culprit(path: Path, shortcuts: dict, overrides: DictConfig) -> str | None:
    """The key whose value the schema refused, where OmegaConf's error does not say (a bad list item): each
    value merged onto the schema alone, the deepest one that fails."""
    given = OmegaConf.to_container(_load_file(path), resolve=False)
    given.pop("presets", None)
    for source in (given, OmegaConf.to_container(overrides, resolve=False)):
        found = _failing(source, "")
        if found:
            return found
    return None


def _failing(values: dict, prefix: str) -> str | None:
    for key, value in values.items():
        try:
            OmegaConf.merge(_schema(), _nested(f"{prefix}{key}", value))
        except (OmegaConfBaseException, TypeError, ValueError):
            deeper = _failing(value, f"{prefix}{key}.") if isinstance(value, dict) else None
            return deeper or f"{prefix}{key}"
    return None


def _nested(key: str, value) -> dict:
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


TYPES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a mapping",
         tuple: "a list"}


def _expected(key: str | None) -> str:
    """What the schema wants at ``key`` ("an integer", "a list or null"), or "" where it is not a field."""
    section, want, parts = RunSpec, "", (key or "").split(".")
    while parts:
        hints = typing.get_type_hints(section) if dataclasses.is_dataclass(section) else {}
        hint = hints.get(parts.pop(0))
        if hint is None:
            return ""
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        kind = typing.get_origin(inner[0]) or inner[0] if isinstance(hint, types.UnionType) else hint
        args = typing.get_args(kind) or typing.get_args(hint)
        kind = typing.get_origin(kind) or kind
        want = TYPES.get(kind, "a mapping") + (" or null" if type(None) in typing.get_args(hint) else "")
        section = kind
        if kind is dict and len(args) == 2 and dataclasses.is_dataclass(args[1]) and parts:
            section, _ = args[1], parts.pop(0)  # a name (workloads.gpt): its value's fields follow
    return want


def _did_you_mean(exc: ConfigKeyError, key: str) -> str:
    """OmegaConf's own "Did you mean" as ours, with the full key."""
    found = re.search(r"Did you mean: '([^']*)'", str(exc))
    return f" (did you mean {key.rpartition('.')[0] + '.' * ('.' in key) + found.group(1)!r}?)" if found else ""


def _apply_filters(spec: RunSpec, shortcuts: dict) -> RunSpec:
    """The ``method=``, ``workload=``, ``scale=`` and ``budget=`` shortcuts."""
    if "method" in shortcuts:
        spec = dataclasses.replace(spec, methods=tuple(_as_list(shortcuts["method"])))
    if "workload" in shortcuts:
        wanted = _as_list(shortcuts["workload"])
        for w in wanted:
            if w not in spec.workloads:
                raise ConfigError(f"suite {spec.name!r} has no workload {w!r}{suggest(w, spec.workloads)}")
        spec = dataclasses.replace(spec, workloads={w: spec.workloads[w] for w in wanted})
    scales = _as_list(shortcuts["scale"]) if "scale" in shortcuts else None
    budgets = [_number(b, "budget") for b in _as_list(shortcuts["budget"])] if "budget" in shortcuts else None
    kept = {}
    for w, ws in spec.workloads.items():
        if scales is not None:
            ws = dataclasses.replace(ws, scales=tuple([s for s in ws.scales if s in scales] or scales))
        if budgets is not None:
            ws = dataclasses.replace(ws, budgets=tuple([b for b in ws.budgets if b in budgets] or budgets))
        kept[w] = ws
    return dataclasses.replace(spec, workloads=kept)


def _number(text: str, key: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 < value < math.inf):
        raise ConfigError(f"{key} must be positive numbers, got {text!r}")
    return value


def validate(spec: RunSpec) -> RunSpec:
    """Every check that can fail before any trial starts, each by the owner of what it checks; returns ``spec``
    with its methods spelled one way."""
    options.check(spec)
    try:
        (Path(spec.results) / f"suite={spec.name}").exists()
    except OSError as exc:  # a name too long for the file system, ...
        raise ConfigError(f"results={spec.results}: not a usable folder ({exc.strerror})") from None
    spec = studies.canonical(spec)
    workloads.check(spec.workloads, studies.data_of(spec))
    protocols.get(spec.tuning.protocol).check(spec)
    return spec
