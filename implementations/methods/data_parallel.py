"""Data-parallel training, simulated: K workers average their gradients every step (the all-reduce baseline).

    g = (1/K) sum_k grad L(w; shard_k);   w <- opt(w, g)        (every worker holds the same w)

Equal shards make this the full-batch gradient, so it equals plain training on the same batch; it
is the baseline of the low-communication methods, which also count ``bytes_communicated``
(fp32 gradients, ring all-reduce: 2 (K-1) x 4 bytes per parameter per step, over all workers).

Args:
    workers: K, the number of simulated workers (must divide the batch size).

References:
    Li et al., "PyTorch Distributed: Experiences on Accelerating Data Parallel Training", VLDB 2020.
"""

from __future__ import annotations

from harness.contracts.interface import TrainingMethod
from implementations.methods._workers import SimulatedWorkers, allreduce_bytes


class DataParallel(SimulatedWorkers):
    def update(self, model, batch, optimizers, progress):
        K = self.hp["workers"]
        shards = list(zip(*(b.chunk(K) for b in batch), strict=False))
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        total = 0.0
        for shard in shards:
            loss = self.loss(model, shard) / K
            loss.backward()
            total += loss.detach()
        for opt in optimizers:
            opt.step()
        self.bytes_communicated += allreduce_bytes(K, sum(p.numel() for p in self.params(model)), 32)
        self.communication_rounds += 1
        return total


METHOD = TrainingMethod(
    hooks=DataParallel,
    defaults={"workers": 4},
    search_space={},
    citation="Li et al., PyTorch Distributed: Experiences on Accelerating Data Parallel Training, VLDB 2020",
    summary="Simulated K-worker data parallelism: gradients averaged every step (all-reduce baseline).",
)
