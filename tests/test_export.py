"""ONNX export: onnxruntime agrees with torch for every registered model, front end included."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from hark.errors import HarkError
from hark.evaluate.onnx_export import export_onnx, max_abs_difference, onnx_logits, sidecar_path
from hark.models import create_model, list_models

LABELS = ["_silence_", "_unknown_", "yes", "no", "up"]


def one_model_per_family() -> list[str]:
    """Widths of one family share their code (bcresnet-1 ... bcresnet-8); the latency
    benchmark exports every registered model."""
    first: dict[str, str] = {}
    for name in list_models():
        first.setdefault(name.split("-")[0], name)
    return sorted(first.values())


@pytest.mark.parametrize("name", one_model_per_family())
def test_onnxruntime_matches_torch(name, tmp_path):
    torch.manual_seed(0)
    sample_rate = 8000 if name == "m5" else 16000  # m5 as the seed's recipe runs it
    model = create_model(name, num_classes=len(LABELS), sample_rate=sample_rate)
    model.train()  # export must switch augmentation (SpecAugment) off by itself
    path = export_onnx(model, tmp_path / f"{name}.onnx", LABELS, sample_rate, sample_rate)

    # A batch size other than the export's own checks that the batch axis is dynamic.
    waves = np.random.default_rng(1).uniform(-0.5, 0.5, (5, sample_rate)).astype(np.float32)
    assert onnx_logits(path, waves).shape == (5, len(LABELS))
    assert max_abs_difference(model, path, waves) < 1e-3
    assert json.loads(sidecar_path(path).read_text()) == {
        "labels": LABELS,
        "sample_rate": sample_rate,
        "num_samples": sample_rate,
        "input": "waveform",
        "output": "logits",
        "opset": 17,
    }


class ComplexStft(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(201, 2)

    def forward(self, waves):
        return self.head(torch.stft(waves, 400, return_complex=True).abs().mean(-1))


def test_unexportable_model_gives_a_clear_error_and_leaves_no_file(tmp_path):
    with pytest.raises(HarkError, match="cannot export ComplexStft to ONNX.*complex"):
        export_onnx(ComplexStft(), tmp_path / "x.onnx", ["a", "b"], 16000, 16000)
    assert list(tmp_path.iterdir()) == []


def test_sub_spectral_norm_exports_without_shape_arithmetic(tmp_path):
    """The eval-mode norm's expansion over frequency is baked into the graph as constants; taken
    from the input's shape it cost 60 runtime nodes per norm, most of BC-ResNet-1's latency."""
    import onnx

    model = create_model("bcresnet-1", num_classes=len(LABELS))
    path = export_onnx(model, tmp_path / "bcresnet-1.onnx", LABELS, 16000, 16000)
    # Each block's frequency path (1x1 conv, depthwise conv, SubSpectralNorm) has static shapes.
    frequency_paths = [n for n in onnx.load(str(path)).graph.node if "/frequency_path" in n.name]
    assert len({n.name.split("/frequency_path")[0] for n in frequency_paths}) == 12
    assert [n.name for n in frequency_paths if n.op_type == "Shape"] == []
