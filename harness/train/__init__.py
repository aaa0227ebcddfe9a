"""Training one trial: the loop, its clock and what it measures.

Owns the one training loop (``trainer``: warm-up, budget, evaluation outside the clock, failures as
statuses), the meters (``measure``: timers, NVML energy, CodeCarbon, peak memory), the machine's
description (``hardware``), analytic FLOPs (``flops``, the one place every workload counts them) and the
workloads (``workloads/``: model + data + loss + metric at named scales). May import
``harness.contracts`` and ``harness.errors``; never ``harness.run``, ``harness.stats`` or the face.
"""
