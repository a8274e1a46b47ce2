"""The penultimate embedding: the input of a model's final `head` layer (every hark model has
one), caught with a forward hook so that the models need no second forward method."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import nn

from hark.errors import HarkError


def logits_and_embeddings(
    model: nn.Module, batches: Iterable[torch.Tensor]
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(logits, embedding) per batch, both float32 on the CPU, in evaluation mode and without
    gradients. The caller puts the batches on the model's device."""
    if not hasattr(model, "head"):
        raise HarkError(f"{type(model).__name__} has no `head` layer to take embeddings from")
    caught: list[torch.Tensor] = []
    hook = model.head.register_forward_hook(
        lambda _module, inputs, _output: caught.append(inputs[0].flatten(1).float().cpu())
    )
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for batch in batches:
                logits = model(batch).float().cpu()
                yield logits, caught.pop()
    finally:
        hook.remove()
        model.train(was_training)
