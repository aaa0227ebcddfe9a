"""asv benchmarks of speedproof (``asv.conf.json`` at the repository root; docs/benchmarking.md).

asv imports this package from the working tree and the project code from the commit it measures,
so the benchmarks use only the stable contracts: the registry, ``Optimizer.build``, a workload's
``build(scale, seed)``, ``Trial``/``run_trial``, ``harness.store`` and ``harness.stats.analysis``.
"""
