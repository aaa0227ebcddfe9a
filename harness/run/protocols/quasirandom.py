"""``quasirandom``: equal-budget tuning with the same number of quasi-random trials for every method, then K seeds.

For each study (method, workload, scale, budget) ``tuning.trials`` configurations are drawn from the method's own
search space by a scrambled Halton sequence (``scipy.stats.qmc``) with the suite's fixed seed ``tuning.seed``, so
every method gets the same sampler and the same count, all known upfront (a repeated study r: scramble seed
``tuning.seed + r``, training seed r). The best configuration is the one with the lowest final validation loss at
the end of its schedule; it is re-run with K fresh seeds.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from harness.run import studies as expansion
from harness.run.protocols import Protocol, trunks
from harness.spec import RunSpec, Trial


class Quasirandom(Protocol):
    branches = True

    def proposals(self, spec: RunSpec, studies: list[Trial], rows: pd.DataFrame) -> list[Trial]:
        out = []
        for study in studies:
            space = expansion.search_space(expansion.parts(spec, study.method), spec.tuning.tune)
            for hp in expansion.quasirandom(space, spec.tuning.trials, spec.tuning.seed + study.repeat):
                out.append(replace(study, hparams={**hp, **expansion.fixed_hparams(spec, study.method)}, phase="tune",
                                   seed=study.repeat))
        return trunks(spec, out)


PROTOCOL = Quasirandom()
