"""Multi-process training under `torchrun`: process group, device per rank, synchronised
BatchNorm, and helpers that are no-ops in a single process."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from torch import nn

from hark.models.running_stats import update_running_stats


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device_name: str) -> tuple[Context, torch.device]:
    """Join the torchrun process group if launched by torchrun (nccl on CUDA, gloo on CPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    return Context(rank, world_size, local_rank), device


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        dist.barrier()


def gather(obj, ctx: Context) -> list:
    """Every rank's `obj`, in rank order."""
    if not ctx.distributed:
        return [obj]
    result = [None] * ctx.world_size
    dist.all_gather_object(result, obj)
    return result


def sum_tensor(tensor: torch.Tensor, ctx: Context) -> torch.Tensor:
    if ctx.distributed:
        dist.all_reduce(tensor)
    return tensor


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics cover the whole global batch on every backend.
    torch's SyncBatchNorm refuses CPU tensors, so CPU (gloo) runs use this one; the reduction
    goes through `torch.distributed.nn`, whose all_reduce carries gradients back to every rank."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {input.dim()}-D")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized()):
            return super().forward(input)
        dims = [d for d in range(input.dim()) if d != 1]
        shape = [1, -1] + [1] * (input.dim() - 2)
        count = torch.tensor([input.numel() / input.shape[1]], dtype=input.dtype, device=input.device)
        totals = dist_fn.all_reduce(torch.cat([input.sum(dims), count]))
        n = totals[-1]
        mean = totals[:-1] / n
        centred = input - mean.view(shape)
        var = dist_fn.all_reduce((centred * centred).sum(dims)) / n
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        update_running_stats(self, mean.detach(), var.detach(), round(float(n)))
        return out


def sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Swap every BatchNorm for one that normalises over the global batch, so a run on N
    processes matches a single process with the same global batch."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for name, child in model.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            replacement = GlobalBatchNorm(
                child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats
            ).to(device)
            replacement.load_state_dict(child.state_dict())
            replacement.train(child.training)
            setattr(model, name, replacement)
        else:
            sync_batchnorm(child, device)
    return model
