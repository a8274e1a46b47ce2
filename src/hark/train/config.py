"""The full description of a training run: typed sections with defaults, overridable one field
at a time (`--set section.key=value`), written as plain JSON into the run folder."""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path

from hark import schema
from hark.errors import HarkError
from hark.fileio import write_text


@dataclass
class DataConfig:
    source: str = ""
    task: str = "all"
    sample_rate: int = 16000
    num_samples: int = 16000


@dataclass
class ModelConfig:
    name: str = "bcresnet-1"
    kwargs: dict = field(default_factory=dict)


@dataclass
class OptimConfig:
    optimizer: str = "sgd"  # sgd | adam | adamw
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-3
    schedule: str = "cosine"  # cosine (per-step, after linear warm-up) | step (per epoch)
    warmup_epochs: float = 0.0
    min_lr: float = 0.0
    step_size: int = 20
    gamma: float = 0.1


@dataclass
class AugmentConfig:
    noise_prob: float = 0.0
    noise_snr_db: tuple[float, float] = (0.0, 20.0)
    time_shift_ms: float = 0.0
    freq_masks: int = 0
    freq_mask_width: int = 0
    time_masks: int = 0
    time_mask_width: int = 0
    label_smoothing: float = 0.0


@dataclass
class LoopConfig:
    """How the training loop runs (the `run` section of config.json)."""

    epochs: int = 2
    batch_size: int = 256
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # mixed precision on CUDA only (bf16 where supported, else fp16 + GradScaler)
    checkpoint_every: int = 10
    workers: int = 0  # processes decoding clips into the cache on first use (0 = one per core)


@dataclass
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    run: LoopConfig = field(default_factory=LoopConfig)

    def to_dict(self) -> dict:
        """Plain dicts/lists/numbers only, so that `torch.load(weights_only=True)` accepts it."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict, origin: str = "config") -> TrainConfig:
        config = cls()
        for section_name, values in data.items():
            section = _section(config, section_name, origin)
            if not isinstance(values, dict):
                raise HarkError(f"{origin}: section {section_name!r} must be an object")
            for key, value in values.items():
                _assign(section, section_name, key, value, origin)
        return config

    def override(self, assignment: str) -> None:
        """Apply one `section.key=value` (value parsed as JSON, else taken as a string)."""
        target, eq, text = assignment.partition("=")
        section_name, dot, key = target.strip().partition(".")
        if not eq or not dot:
            raise HarkError(f"--set {assignment!r}: expected section.key=value, e.g. optim.lr=0.05")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        _assign(_section(self, section_name, "--set"), section_name, key, value, "--set")

    def save(self, path: Path, labels: list[str], front_end: dict | None) -> None:
        """The run folder's config.json: the recipe, the class order and the model's front end."""
        document = {**self.to_dict(), schema.LABELS_KEY: list(labels), schema.FRONT_END_KEY: front_end}
        write_text(path, json.dumps(document, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise HarkError(f"{path}: cannot read the run config ({err})") from None
        sections = {f.name for f in dataclasses.fields(cls)}
        return cls.from_dict({k: v for k, v in data.items() if k in sections}, origin=str(path))


def _section(config: TrainConfig, name: str, origin: str):
    names = [f.name for f in dataclasses.fields(config)]
    if name not in names:
        raise HarkError(f"{origin}: unknown config section {name!r}; valid: {', '.join(names)}")
    return getattr(config, name)


def _assign(section, section_name: str, key: str, value, origin: str) -> None:
    hints = typing.get_type_hints(type(section))
    if key not in hints:
        raise HarkError(
            f"{origin}: unknown field {section_name}.{key}; valid: "
            + ", ".join(f"{section_name}.{k}" for k in hints)
        )
    try:
        setattr(section, key, _coerce(value, hints[key]))
    except (TypeError, ValueError) as err:
        raise HarkError(f"{origin}: {section_name}.{key}={value!r}: {err}") from None


def _coerce(value, kind):
    """Check `value` against the field's type, allowing only lossless conversions."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise TypeError("expected true or false")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError("expected an integer")
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise TypeError("expected a number")
    if kind is str:
        return value if isinstance(value, str) else json.dumps(value)
    if kind is dict:
        if isinstance(value, dict):
            return value
        raise TypeError('expected a JSON object, e.g. {"width": 2}')
    if typing.get_origin(kind) is tuple:
        items = typing.get_args(kind)
        if isinstance(value, str):
            value = [json.loads(v) for v in value.split(",")]
        if not isinstance(value, (list, tuple)) or len(value) != len(items):
            raise TypeError(f"expected {len(items)} comma-separated values")
        return tuple(_coerce(v, t) for v, t in zip(value, items, strict=True))
    raise TypeError(f"unsupported field type {kind}")
