"""What README.md tells people who extend the harness is what the code does."""

import re
from pathlib import Path

from harness import cli
from harness.contracts import registry
from harness.contracts.interface import Choice, LogUniform, Optimizer, Uniform

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _example() -> str:
    section = README[README.index("## Adding a method"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_method_file_is_valid_and_defaults_reach_build():
    scope: dict = {}
    exec(compile(_example(), "README example", "exec"), scope)
    method = scope["METHOD"]
    assert isinstance(method, Optimizer) and method.summary.startswith("My optimizer")
    assert {type(d) for d in method.search_space.values()} == {LogUniform, Uniform, Choice}
    # tuned values laid over the defaults; a key the method does not declare never reaches build
    assert method.hparams({"lr": 0.01, "momentum": 0.9}) == {"lr": 0.01, "weight_decay": 0.1, "beta2": 0.95}


def test_optimizers_by_path_get_the_documented_search_space():
    assert "[1e-5, 1e-1]" in README and "[1e-4, 0.3]" in README
    for name in ("pytorch_optimizer.Lion", "torch.optim:AdamW"):
        method = registry.get("optimizer", name)
        assert method.search_space == {"lr": LogUniform(1e-5, 1e-1), "weight_decay": LogUniform(1e-4, 0.3)}
        assert method.defaults["weight_decay"] == 0.0 and method.summary


def test_bare_harness_prints_the_help(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: harness") and "harness run suite=optimizers preset=smoke" in out


def test_an_unknown_scale_lists_the_valid_ones(capsys):
    assert cli.main(["validate", "suite=optimizers", "scale=huge"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "its scales: nano, micro" in err
