"""Backprop: the plain update on the workload's native model, the baseline of every training method.

    loss = L(f_w(x), y);  g = dL/dw (reverse-mode through the whole network);  w <- opt(w, g)

No hook changes anything: the trainer's forward/backward/step is the method. It is listed as a
method so that suites of training methods (``backprop_free``, ``sparsity``, ``precision``) name
their baseline the same way as the methods it is compared against, on the same architecture.

References:
    Rumelhart, Hinton & Williams, "Learning representations by back-propagating errors",
    Nature 323, 1986.
"""

from __future__ import annotations

from harness.contracts.interface import TrainingHooks, TrainingMethod


class Backprop(TrainingHooks):
    """The trainer's standard forward/backward/step, unchanged."""


METHOD = TrainingMethod(
    hooks=Backprop,
    defaults={},
    search_space={},
    citation="Rumelhart, Hinton & Williams, Learning representations by back-propagating errors, Nature 1986",
    summary="Plain end-to-end backpropagation on the native architecture (baseline).",
)
