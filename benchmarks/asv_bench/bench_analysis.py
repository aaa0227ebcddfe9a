"""The leaderboard over a 10,000-row synthetic results set (100 studies, 5 final seeds each).

Every interval is a closed-form t interval or the data speedup's test inversion (no resampling), so one
call is one pass over the rows.
"""

from __future__ import annotations

import pandas as pd

from harness.stats.analysis import best_configs, leaderboard

from .synthetic import results_rows


class Analysis:
    number = 1
    repeat = (1, 3, 60.0)
    timeout = 180

    def setup(self) -> None:
        self.df = pd.DataFrame(results_rows(10_000))

    def time_leaderboard(self) -> None:
        leaderboard(self.df, baseline="adamw")

    def time_best_configs(self) -> None:
        best_configs(self.df)
