"""ONNX export of a whole model, front end included: waveform float32 [B, T] -> logits [B, C].

The TorchScript-based exporter is used (`dynamo=False`): the torch.export-based one needs
`onnxscript`, which the project does not depend on. That exporter has no complex tensors, so a
front end must compute its STFT with `return_complex=False` (or as a convolution) to export."""

from __future__ import annotations

import io
import warnings
from contextlib import redirect_stderr
from pathlib import Path

import numpy as np
import torch

from hark.errors import HarkError, OutputError
from hark.fileio import atomic_path, write_json

OPSET = 17  # the first opset with an STFT operator, needed by log-mel front ends
INPUT_NAME, OUTPUT_NAME = "waveform", "logits"


def sidecar_path(onnx_path: str | Path) -> Path:
    return Path(onnx_path).with_suffix(".json")


def export_onnx(
    model: torch.nn.Module, path: str | Path, labels: list[str], sample_rate: int, num_samples: int
) -> Path:
    """Write `path` and its JSON sidecar (labels, sample_rate, num_samples, tensor names)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    example = torch.zeros(2, num_samples)
    try:
        # The exporter prints deprecation notices and whole graphs; keep them for the error only.
        with atomic_path(path) as temporary, warnings.catch_warnings(), redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (example,),
                str(temporary),
                dynamo=False,
                opset_version=OPSET,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            )
    except OutputError:
        raise
    except Exception as err:  # the exporter raises many types; all mean "this model does not export"
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise HarkError(f"cannot export {type(model).__name__} to ONNX (opset {OPSET}): {first_line}") from err
    write_json(
        sidecar_path(path),
        {
            "labels": list(labels),
            "sample_rate": int(sample_rate),
            "num_samples": int(num_samples),
            "input": INPUT_NAME,
            "output": OUTPUT_NAME,
            "opset": OPSET,
        },
    )
    return path


def onnx_session(path: str | Path, threads: int = 1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_logits(path: str | Path, waves: np.ndarray, threads: int = 1) -> np.ndarray:
    session = onnx_session(path, threads)
    return session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(waves, dtype=np.float32)})[0]


def max_abs_difference(model: torch.nn.Module, path: str | Path, waves: np.ndarray) -> float:
    """Largest |torch - onnxruntime| logit difference on `waves`: the export's correctness check."""
    with torch.inference_mode():
        expected = model.cpu().eval()(torch.from_numpy(np.ascontiguousarray(waves, dtype=np.float32))).numpy()
    return float(np.abs(onnx_logits(path, waves) - expected).max())
