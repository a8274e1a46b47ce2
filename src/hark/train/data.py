"""Batches straight from the memory-mapped clip cache: no decoding or resampling during
training, clips that failed to decode left out, order drawn from a seeded generator."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from hark.data.cache import load_split
from hark.data.example import ClipDataset, Example
from hark.train.distributed import Context

PREFETCH = 2  # batches assembled ahead of the one training


@dataclass
class ClipTable:
    """Examples of one or several splits and where their waves sit in the cache."""

    examples: list[Example]
    labels: torch.Tensor  # int64 [N], class index per example
    sources: list[np.ndarray]  # memmap [rows, T] per split
    source_of: np.ndarray  # [N] which source holds example i
    row_of: np.ndarray  # [N] its row there

    def __len__(self) -> int:
        return len(self.examples)

    @classmethod
    def build(
        cls,
        dataset: ClipDataset,
        examples: Sequence[Example],
        sample_rate: int,
        num_samples: int,
        workers: int = 0,
        report=print,
        progress: bool = True,
    ) -> ClipTable:
        """Usable clips among `examples`; clips the cache could not decode are reported and skipped."""
        splits = sorted({e.split for e in examples})
        sources, where = [], {}
        for s, split in enumerate(splits):
            cached = load_split(dataset, split, sample_rate, num_samples, workers=workers or None, progress=progress)
            for problem in cached.problems:
                report(f"skipped {problem}")
            sources.append(cached.waves)
            valid = np.asarray(cached.valid, dtype=bool)
            for row, example in enumerate(cached.examples):
                if valid[row]:
                    where[example.path] = (s, row)
        kept = [e for e in examples if e.path in where]
        rows = np.array([where[e.path] for e in kept], dtype=np.int64).reshape(-1, 2)
        labels = torch.tensor([dataset.label_index(e.label) for e in kept], dtype=torch.int64)
        return cls(kept, labels, sources, rows[:, 0], rows[:, 1])

    def waves(self, indices: np.ndarray) -> np.ndarray:
        """Float32 [len(indices), T]; each source is read in row order, which memmaps like."""
        width = self.sources[0].shape[1] if self.sources else 0  # no sources: an empty table
        out = np.empty((len(indices), width), dtype=np.float32)
        for s, source in enumerate(self.sources):
            picked = np.flatnonzero(self.source_of[indices] == s)
            if len(picked):
                rows = self.row_of[indices[picked]]
                order = np.argsort(rows, kind="stable")
                out[picked[order]] = source[rows[order]]
        return out


def epoch_order(n: int, generator: torch.Generator, shuffle: bool) -> np.ndarray:
    return torch.randperm(n, generator=generator).numpy() if shuffle else np.arange(n)


def shard_batches(order: np.ndarray, global_batch: int, ctx: Context) -> list[tuple[np.ndarray, int]]:
    """This rank's share of every global batch, with the global batch's size. A run on N
    processes thus sees, per step, exactly the clips a single process would. A last global batch
    smaller than the number of ranks is dropped so that no rank gets an empty one."""
    batches = []
    for start in range(0, len(order), global_batch):
        chunk = order[start : start + global_batch]
        if len(chunk) < ctx.world_size:
            break
        batches.append((np.array_split(chunk, ctx.world_size)[ctx.rank], len(chunk)))
    return batches


def iterate(
    table: ClipTable, batches: list[tuple[np.ndarray, int]], device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """(waves, labels, global batch size) on `device`. A background thread gathers the next
    batches from the memmap while the current one trains (numpy copies release the GIL); on
    CUDA the host copy is pinned so the transfer overlaps compute."""
    pin = device.type == "cuda"

    def assemble(batch):
        indices, global_size = batch
        waves = torch.from_numpy(table.waves(indices))
        labels = table.labels[torch.from_numpy(indices)]
        if pin:
            waves, labels = waves.pin_memory(), labels.pin_memory()
        return waves, labels, global_size

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = deque(pool.submit(assemble, b) for b in batches[:PREFETCH])
        for upcoming in batches[PREFETCH:] + [None] * min(PREFETCH, len(batches)):
            waves, labels, global_size = pending.popleft().result()
            if upcoming is not None:
                pending.append(pool.submit(assemble, upcoming))
            yield waves.to(device, non_blocking=pin), labels.to(device, non_blocking=pin), global_size
