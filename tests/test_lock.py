"""requirements.lock covers everything pyproject.toml asks for, and pins the CPU torch (no CUDA wheels)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_lock_pins_every_dependency_of_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for extra in project["optional-dependencies"].values() for r in extra}
    lines = [ln for ln in (ROOT / "requirements.lock").read_text().splitlines() if ln and not ln.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[^=\s]+", ln) for ln in lines), "one name==version per line"
    pinned = {_name(ln): ln.split("==")[1] for ln in lines}
    missing = sorted(wanted - set(pinned))
    assert not missing, f"requirements.lock lacks {missing}: run `make lock` and commit it"
    assert pinned["torch"] == "2.13.0"
    assert [n for n in pinned if n.startswith("nvidia-")] == ["nvidia-ml-py"]  # NVML bindings only, no CUDA wheels
