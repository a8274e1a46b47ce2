"""BC-ResNet's fast paths (channels-last layout, in-place residual) compute what the paper's
reference code computes: a plain NCHW re-statement of a block, run on the same weights, gives
the same outputs, input gradients and batch-norm statistics."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from hark.models import create_model
from hark.models.bcresnet import SUB_BANDS, BCResBlock, TemporalDepthwiseConv
from hark.models.subspectral import SubSpectralNorm

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def reference_block(block: BCResBlock, x: torch.Tensor) -> torch.Tensor:
    """Kim et al.'s block in contiguous NCHW: f2 (optional 1x1 transition), frequency-wise
    depthwise conv, SubSpectralNorm as one BatchNorm over channel x sub-band, then the
    temporal path on the frequency average, broadcast back, identity shortcut, ReLU."""
    layers = list(block.frequency_path)
    out = x.contiguous()
    if block.transition:
        conv, norm, _ = layers[:3]
        out = F.relu(norm(F.conv2d(out, conv.weight.contiguous())))
        layers = layers[3:]
    depthwise, ssn = layers
    out = F.conv2d(
        out, depthwise.weight.contiguous(), stride=depthwise.stride, padding=depthwise.padding, groups=depthwise.groups
    )
    b, c, f, t = out.shape
    frequency = ssn.norm(out.reshape(b, c * SUB_BANDS, f // SUB_BANDS, t)).reshape(b, c, f, t)
    temporal_conv, temporal_norm, _, pointwise, _ = block.temporal_path
    temporal = frequency.mean(dim=2, keepdim=True)
    temporal = F.conv2d(
        temporal,
        temporal_conv.weight.contiguous(),
        padding=temporal_conv.padding,
        dilation=temporal_conv.dilation,
        groups=temporal_conv.groups,
    )
    temporal = F.conv2d(F.silu(temporal_norm(temporal)), pointwise.weight.contiguous())
    out = frequency + temporal
    return F.relu(out if block.transition else out + x)


@pytest.mark.parametrize("in_channels,out_channels,stride", [(16, 16, 1), (16, 24, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_block_matches_the_reference(in_channels, out_channels, stride, training):
    torch.manual_seed(0)
    block = BCResBlock(in_channels, out_channels, stride, dilation=2, dropout=0.0).to(memory_format=torch.channels_last)
    for module in block.modules():  # non-trivial statistics and affine parameters
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    reference = copy.deepcopy(block)
    block.train(training)
    reference.train(training)
    x = torch.randn(6, in_channels, 20, 31)
    fast_in = x.contiguous(memory_format=torch.channels_last).requires_grad_()
    ref_in = x.clone().requires_grad_()
    fast, ref = block(fast_in), reference_block(reference, ref_in)
    torch.testing.assert_close(fast, ref, rtol=1e-4, atol=1e-5)
    weights = torch.randn_like(ref)
    (fast * weights).sum().backward()
    (ref * weights).sum().backward()
    torch.testing.assert_close(fast_in.grad, ref_in.grad, rtol=1e-4, atol=1e-5)
    for (name, a), (_, b) in zip(block.named_parameters(), reference.named_parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-4, msg=name)
    for (name, a), (_, b) in zip(block.named_buffers(), reference.named_buffers(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("dilation", [2, 8, 40])
def test_shifted_taps_match_the_dilated_convolution(dilation):
    """The training path's shifted multiply-adds against torch's dilated depthwise convolution:
    outputs, input and weight gradients, also for a dilation longer than the clip (31 frames),
    where only the centre tap sees the window."""
    torch.manual_seed(0)
    conv = TemporalDepthwiseConv(6, dilation)
    x = torch.randn(3, 6, 1, 31, requires_grad=True)
    ref_in, ref_weight = x.detach().clone().requires_grad_(), conv.weight.detach().clone().requires_grad_()
    out = conv(x)
    ref = F.conv2d(ref_in, ref_weight, padding=(0, dilation), dilation=(1, dilation), groups=6)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    weights = torch.randn_like(ref)
    (out * weights).sum().backward()
    (ref * weights).sum().backward()
    torch.testing.assert_close(x.grad, ref_in.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(conv.weight.grad, ref_weight.grad, rtol=1e-5, atol=1e-5)
    assert out.grad_fn.name() != "ConvolutionBackward0"  # the fast path ran, not the module's own


@pytest.mark.parametrize("offset", [0.0, 50.0])
def test_sub_spectral_norm_matches_one_batch_norm_over_channel_and_band(offset):
    """The CPU training path (statistics from sums of x and x^2 on the channels-last layout)
    against the reference BatchNorm2d over channel x band, also for activations whose mean
    is 50 standard deviations from zero."""
    torch.manual_seed(0)
    fast = SubSpectralNorm(6, SUB_BANDS)
    fast.norm.weight.data.uniform_(0.5, 1.5)
    fast.norm.bias.data.uniform_(-0.5, 0.5)
    reference = copy.deepcopy(fast)
    x = torch.randn(8, 6, 20, 17) + offset
    fast_in = x.contiguous(memory_format=torch.channels_last).requires_grad_()
    ref_in = x.clone().requires_grad_()
    out = fast(fast_in)
    ref = reference.norm(ref_in.reshape(8, 6 * SUB_BANDS, 4, 17)).reshape(8, 6, 20, 17)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
    weights = torch.randn_like(ref)
    (out * weights).sum().backward()
    (ref * weights).sum().backward()
    torch.testing.assert_close(fast_in.grad, ref_in.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(fast.norm.weight.grad, reference.norm.weight.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(fast.norm.bias.grad, reference.norm.bias.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(fast.norm.running_var, reference.norm.running_var, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fast.norm.running_mean, reference.norm.running_mean, rtol=1e-5, atol=1e-5)


def test_whole_model_is_layout_independent():
    """The channels-last model and the same weights in plain NCHW give the same logits."""
    torch.manual_seed(0)
    fast = create_model("bcresnet-1", 12).eval()
    plain = copy.deepcopy(fast).to(memory_format=torch.contiguous_format)
    waves = 0.1 * torch.randn(3, 16000)
    with torch.no_grad():
        torch.testing.assert_close(fast(waves), plain(waves), rtol=1e-4, atol=1e-5)
