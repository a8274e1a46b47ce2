"""The model contract (waveform in, logits out, `head`, `embedding_dim`) holds for every
registered model; parameter counts match the papers; ONNX export agrees with torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import word_tone
from hark.cli import main
from hark.errors import HarkError
from hark.models import count_parameters, create_model, list_models

BATCH = 4


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _clips(sample_rate: int, batch: int = BATCH, seed: int = 0) -> torch.Tensor:
    return 0.1 * torch.randn(batch, sample_rate, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", list_models())
def test_model_contract_and_every_parameter_learns(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=7)
    assert isinstance(model.head, torch.nn.Linear) and model.head.in_features == model.embedding_dim
    assert model.sample_rate == 16000
    embeddings = []
    model.head.register_forward_hook(lambda module, inputs, output: embeddings.append(inputs[0]))
    logits = model(_clips(16000))
    assert logits.shape == (BATCH, 7) and torch.isfinite(logits).all()
    assert embeddings[0].shape == (BATCH, model.embedding_dim)
    F.cross_entropy(logits, torch.arange(BATCH) % 7).backward()
    silent = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not silent, f"parameters without gradient: {silent}"


@pytest.mark.parametrize("name", ["m5", "bcresnet-1", "matchboxnet-3x1x64", "logmel-cnn"])
def test_each_family_learns_word_tones(name):
    """Shapes and gradients can be right while the wiring is wrong; a few steps on four
    separable "words" must drive the loss down."""
    rng = np.random.default_rng(0)
    labels = torch.arange(32) % 4
    waves = torch.from_numpy(np.stack([word_tone(int(label), i % 5, rng) for i, label in enumerate(labels)]))
    torch.manual_seed(0)
    model = create_model(name, 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(12):
        optimizer.zero_grad()
        logits = model(waves)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    assert (logits.argmax(dim=1) == labels).float().mean() > 0.9


def test_m5_is_the_tutorial_size_and_runs_at_8_and_16_khz():
    assert count_parameters(create_model("m5", 35)) == 26915
    for rate in (8000, 16000):
        model = create_model("m5", 35, sample_rate=rate).eval()
        assert model(_clips(rate)).shape == (BATCH, 35)


def test_bc_resnet_sizes_follow_the_paper():
    # Kim et al. 2021, Table 2 (12 classes): 9.2k, 27.3k, 54.2k, 188k, 321k parameters.
    for name, paper in [
        ("bcresnet-1", 9.2e3),
        ("bcresnet-2", 27.3e3),
        ("bcresnet-3", 54.2e3),
        ("bcresnet-6", 188e3),
        ("bcresnet-8", 321e3),
    ]:
        assert abs(count_parameters(create_model(name, 12)) - paper) / paper < 0.01, name


def test_log_mel_models_follow_the_sample_rate():
    model = create_model("bcresnet-1", 12, sample_rate=8000).eval()
    assert model.features[0].sample_rate == 8000
    assert model(_clips(8000)).shape == (BATCH, 12)


def test_eval_is_deterministic_and_spec_augment_only_trains():
    torch.manual_seed(0)
    augmented = create_model(
        "bcresnet-1", 12, spec_augment=dict(freq_masks=2, freq_width=7, time_masks=2, time_width=25)
    )
    plain = create_model("bcresnet-1", 12)
    plain.load_state_dict(augmented.state_dict())
    augmented.eval(), plain.eval()
    clips = _clips(16000)
    first = augmented(clips)
    torch.testing.assert_close(augmented(clips), first, rtol=0, atol=0)
    torch.testing.assert_close(plain(clips), first, rtol=0, atol=0)
    augmented.train()
    assert not torch.equal(augmented.features(clips), plain.features(clips))


def test_unknown_model_or_option_names_the_valid_ones():
    with pytest.raises(HarkError, match="valid models: .*bcresnet-1.*m5"):
        create_model("resnet-9000", 12)
    with pytest.raises(HarkError, match="no option width.*spec_augment"):
        create_model("bcresnet-1", 12, width=3)
    with pytest.raises(HarkError, match="spec_augment.*freq_mask"):
        create_model("matchboxnet-3x1x64", 12, spec_augment={"freq_mask": 2})


@pytest.mark.parametrize("name", ["m5", "bcresnet-1", "matchboxnet-3x1x64", "logmel-cnn"])
def test_onnx_export_includes_the_front_end_and_agrees(name, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    model = create_model(name, 12, spec_augment=None)  # None is accepted even by m5
    model.eval()
    path = tmp_path / f"{name}.onnx"
    torch.onnx.export(
        model,
        (_clips(16000, batch=2),),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["waveform"],
        output_names=["logits"],
        dynamic_axes={"waveform": {0: "batch"}, "logits": {0: "batch"}},
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    clips = _clips(16000, batch=3, seed=1)
    (ours,) = session.run(None, {"waveform": clips.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(ours, model(clips).numpy(), atol=1e-3, rtol=1e-3)


def test_models_command_lists_every_model_with_its_size(capsys):
    assert main(["models", "--num-classes", "35"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in list_models())
    assert "26,915" in out  # m5


@pytest.mark.parametrize("name", ["logmel-cnn", "bcresnet-1"])
def test_mean_normalised_model_ignores_a_microphones_gain_and_colouring(name):
    """Mean normalisation removes what is constant over a clip in each band: a louder or
    differently coloured recording of the same sound gets the same logits."""
    torch.manual_seed(0)
    normalised = create_model(name, 5, mean_normalise=True).eval()
    plain = create_model(name, 5, mean_normalise=False).eval()
    plain.load_state_dict(normalised.state_dict())
    clips = _clips(16000)
    coloured = 4.0 * torch.from_numpy(np.diff(clips.numpy(), axis=1, prepend=0.0)).float()  # gain and a tilt

    def effect(model, changed):  # relative, since an untrained BC-ResNet barely responds to anything
        with torch.no_grad():
            return (model(changed) - model(clips)).abs().max()

    with torch.no_grad():
        torch.testing.assert_close(normalised(4.0 * clips), normalised(clips), atol=1e-3, rtol=1e-3)
    assert effect(normalised, 4.0 * clips) < 1e-2 * effect(plain, 4.0 * clips)
    assert effect(normalised, coloured) < 0.5 * effect(plain, coloured)


def test_logmel_cnn_takes_its_band_count():
    """`n_mels` sets the front end's bands (and so what config.json records), not only an argument."""
    from hark.models.frontend import front_end_settings

    model = create_model("logmel-cnn", 5, n_mels=24).eval()
    assert front_end_settings(model)["n_mels"] == 24
    with torch.no_grad():
        assert model.features(_clips(16000)).shape[1] == 24
