"""The contracts between the engine and the methods.

Owns what a method is (``interface``: Optimizer, Schedule, TrainingMethod, TrainingHooks, Claim, search
spaces, ``param_groups``), how methods are found (``registry``: walks ``implementations/``; a failed import
is an ``Unavailable`` entry, never a crash) and how third-party optimizers become methods (``adapters``:
``pytorch_optimizer.X``, ``pkg.mod:Class``, with defaults of their own). May import ``harness.errors``
only; the engine never imports a method file (the registry loads them by path).
"""
