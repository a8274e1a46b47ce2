"""SubSpectralNorm (Chang et al., Interspeech 2021): batch norm with separate statistics for each
of several frequency bands, as BC-ResNet uses it after every frequency-wise convolution."""

from __future__ import annotations

import torch
from torch import nn

from hark.models.running_stats import update_running_stats


class SubSpectralNorm(nn.Module):
    """Batch norm with separate statistics for each of `sub_bands` frequency bands: one
    BatchNorm2d over channel x band, so checkpoints and SyncBatchNorm see a plain batch norm."""

    def __init__(self, channels: int, sub_bands: int):
        super().__init__()
        self.sub_bands = sub_bands
        self.norm = nn.BatchNorm2d(channels * sub_bands)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = self.norm
        if not self.training and norm.track_running_stats:
            return self._affine(x)
        if type(norm) is nn.BatchNorm2d and x.device.type == "cpu" and x.dtype == torch.float32:
            return self._channels_last_batch_norm(x)
        return self._reference(x)

    def _reference(self, x: torch.Tensor) -> torch.Tensor:
        """The paper's form, kept for CUDA and AMP, and for the synchronised norms of multi-process runs."""
        batch, channels, freq, time = x.shape
        bands = self.norm(x.reshape(batch, channels * self.sub_bands, freq // self.sub_bands, time))
        return bands.reshape(batch, channels, freq, time)

    def _affine(self, x: torch.Tensor) -> torch.Tensor:
        # With running statistics the norm is an affine map per (channel, frequency): applied as
        # such it keeps a channels-last input channels-last, where the reference form copies it
        # into NCHW and back (a quarter of a BC-ResNet step's time in the profile).
        norm = self.norm
        # Python ints, so that an ONNX trace bakes them in: taken from x's shape, the expansion
        # over frequency was 60 shape-computing nodes per norm, 2/3 of BC-ResNet-1's graph.
        channels = norm.num_features // self.sub_bands
        per_band = int(x.shape[2]) // self.sub_bands
        scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
        shift = norm.bias - norm.running_mean * scale
        scale = scale.view(channels, self.sub_bands).repeat_interleave(per_band, dim=1)
        shift = shift.view(channels, self.sub_bands).repeat_interleave(per_band, dim=1)
        return torch.addcmul(shift[None, :, :, None], x, scale[None, :, :, None])

    def _channels_last_batch_norm(self, x: torch.Tensor) -> torch.Tensor:
        # A channels-last tensor is stored as (batch, freq, time, channel), so (batch, band,
        # freq-in-band x time, channel) is a free view of it. Normalising that view keeps the
        # layout: the reference form's two copies, and the layout mismatches they cause
        # downstream, were a third of a BC-ResNet-1 training step on CPU.
        norm = self.norm
        batch, channels, freq, time = x.shape
        bands = x.permute(0, 2, 3, 1).reshape(batch, self.sub_bands, -1, channels)
        weight = norm.weight.view(channels, self.sub_bands).t()[None, :, None, :]
        bias = norm.bias.view(channels, self.sub_bands).t()[None, :, None, :]
        out, mean, var = _BandNorm.apply(bands, weight, bias, norm.eps)
        # (band, channel) statistics in the order of the BatchNorm2d's features: channel-major
        stats = torch.stack([mean, var]).reshape(2, self.sub_bands, channels).transpose(1, 2).reshape(2, -1)
        update_running_stats(norm, stats[0], stats[1], bands.numel() // mean.numel())
        return out.view(batch, freq, time, channels).permute(0, 3, 1, 2)


def _sum_over_batch_and_band(x: torch.Tensor) -> torch.Tensor:
    # Two reductions, the inner one over a middle dim with the channel dim contiguous: an order
    # of magnitude faster on CPU than one reduction over both dims (or torch.var_mean).
    return x.sum(2, keepdim=True).sum(0, keepdim=True)


class _BandNorm(torch.autograd.Function):
    """Batch norm of a (batch, band, position, channel) tensor with statistics per (band,
    channel), with the backward written out."""

    @staticmethod
    def forward(ctx, bands, weight, bias, eps):
        count = bands.numel() // (bands.shape[1] * bands.shape[3])
        # Two passes (mean, then the centred sum of squares), as torch's own batch norm does:
        # E[x^2] - E[x]^2 loses most of its digits on activations far from zero.
        mean = _sum_over_batch_and_band(bands) / count
        centred = bands - mean
        var = _sum_over_batch_and_band(centred * centred) / count
        inv_std = torch.rsqrt(var + eps)
        out = torch.addcmul(bias, centred, weight * inv_std)
        ctx.save_for_backward(centred, inv_std, weight)
        ctx.mark_non_differentiable(mean, var)
        return out, mean, var

    @staticmethod
    def backward(ctx, grad_out, _grad_mean, _grad_var):
        centred, inv_std, weight = ctx.saved_tensors
        count = centred.numel() // inv_std.numel()
        grad_bias = _sum_over_batch_and_band(grad_out)
        grad_weight = _sum_over_batch_and_band(grad_out * centred) * inv_std
        # d(loss)/dx = scale * (g - mean(g) - x_hat * mean(g * x_hat)), as a * g + b * (x - mean) + c
        scale = weight * inv_std
        grad_in = torch.addcmul(-scale * grad_bias / count, centred, -scale * inv_std * grad_weight / count)
        grad_in.addcmul_(grad_out, scale)
        return grad_in, grad_weight, grad_bias, None
