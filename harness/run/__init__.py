"""Running a suite: which trials, where, and in what order.

Owns the tuning protocols (``tuning``: equal quasi-random search; ``protocols``: coordinate descent, grid),
the executor options (``options``), the executors that run trials and store each row the moment it
arrives (``executors``), their backends (``backends``: local, spawn pool, Ray) and the lease files that
let several runs share one results folder (``leases``). May import ``harness.train``, ``harness.store``,
``harness.contracts`` and ``harness.errors``; never the face (cli, config, report) or ``harness.stats``.
"""
