"""The leaderboard over a 10,000-row synthetic results set (100 studies, 5 final seeds each).

``n_resamples`` is 10, not the default 1000: the data-speedup bootstrap refits the power law on
every resample (``scipy.optimize.curve_fit``), and at 1000 resamples one call takes minutes here.
"""

from __future__ import annotations

import pandas as pd

from harness.stats.analysis import best_configs, leaderboard

from .synthetic import results_rows

N_RESAMPLES = 10


class Analysis:
    number = 1
    repeat = (1, 3, 60.0)
    timeout = 180

    def setup(self) -> None:
        self.df = pd.DataFrame(results_rows(10_000))

    def time_leaderboard(self) -> None:
        leaderboard(self.df, baseline="adamw", n_resamples=N_RESAMPLES)

    def time_best_configs(self) -> None:
        best_configs(self.df)
