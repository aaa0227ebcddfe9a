"""speedproof's harness: runs fair, tuned comparisons of training methods and records every trial.

The engine in layers; imports point down only (checked by import-linter, ``[tool.importlinter]`` in
pyproject.toml):

    cli                     the face: the ``harness`` command
    verify                  a method's claims: budgets designed for them, sequential seeds, verdicts
    config | report         suite files and overrides (validated) | tables and verdicts for people
    run | stats             running a suite (executors, protocols, tuning) | statistics of rows
    train                   one trial: the loop, meters, workloads
    store                   Parquet rows: write atomically, read with one schema
    contracts               what a method is, the registry, adapters
    errors                  ConfigError and "did you mean", raised from any layer
"""

from importlib import metadata

try:
    __version__ = metadata.version("speedproof")  # one source: pyproject.toml
except metadata.PackageNotFoundError:  # a checkout run without installing it
    __version__ = "0+unknown"
