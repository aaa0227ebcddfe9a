"""Statistics of result rows: speedups, confidence intervals, verdicts. Reads rows only.

Owns data speedups and their intervals, ratios, performance profiles, rankings and the leaderboard
(``analysis``), the power-law fit of loss against budget (``power_law``), claim verdicts (``claims``) and
the batch-size analysis (``batch_scaling``). Pure numpy/pandas/scipy: may import ``harness.contracts``
(for ``Claim``) and ``harness.errors``; never torch, ``harness.train`` or ``harness.run``. The dashboard
and the report compute every number here.
"""
