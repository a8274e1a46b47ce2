"""The full description of a training run: typed sections with defaults, overridable one field
at a time (`--set section.key=value`), written as plain JSON into the run folder. Every field
carries its valid range (`hark.ranges`, in the field's metadata), checked whenever a value is
set, so that a mistake stops `hark train` before any data is read."""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hark import fileio, schema
from hark.errors import UsageError
from hark.ranges import OneOf, Ordered, Range, problem_of, valid

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("cosine", "step")
DEVICES = ("auto", "cpu", "cuda")
# Keys that `save` writes beside the sections: the class order and the model's front end.
EXTRA_KEYS = (schema.LABELS_KEY, schema.FRONT_END_KEY)
YAML_SUFFIXES = (".yaml", ".yml")


POSITIVE, NON_NEGATIVE, COUNT = Range(0, low_open=True), Range(0), Range(1)
FRACTION = Range(0, 1)


@dataclass
class DataConfig:
    source: str = ""
    task: str = field(default="all", metadata=valid(OneOf(schema.TASKS)))
    sample_rate: int = field(default=16000, metadata=valid(Range(1000, 384000)))
    num_samples: int = field(default=16000, metadata=valid(COUNT))


@dataclass
class ModelConfig:
    name: str = "bcresnet-1"  # checked against the model registry by `hark train`
    kwargs: dict = field(default_factory=dict)


@dataclass
class OptimConfig:
    optimizer: str = field(default="sgd", metadata=valid(OneOf(OPTIMIZERS)))
    lr: float = field(default=0.1, metadata=valid(POSITIVE))
    momentum: float = field(default=0.9, metadata=valid(Range(0, 1, high_open=True)))
    weight_decay: float = field(default=1e-3, metadata=valid(NON_NEGATIVE))
    # cosine: per step, after a linear warm-up; step: the tutorial's StepLR, per epoch
    schedule: str = field(default="cosine", metadata=valid(OneOf(SCHEDULES)))
    warmup_epochs: float = field(default=0.0, metadata=valid(NON_NEGATIVE))
    min_lr: float = field(default=0.0, metadata=valid(NON_NEGATIVE))
    step_size: int = field(default=20, metadata=valid(COUNT))
    gamma: float = field(default=0.1, metadata=valid(Range(0, 1, low_open=True)))


# The augmentation fields that put SpecAugment in the model (which only a spectrogram model takes).
SPEC_AUGMENT_FIELDS = ("freq_masks", "time_masks", "time_stretch")


@dataclass
class AugmentConfig:
    noise_prob: float = field(default=0.0, metadata=valid(FRACTION))
    noise_snr_db: tuple[float, float] = field(default=(0.0, 20.0), metadata=valid(Ordered(Range(-100, 100))))
    # A folder of noise recordings used instead of the dataset's own `_background_noise_`.
    noise_dir: str = ""
    time_shift_ms: float = field(default=0.0, metadata=valid(NON_NEGATIVE))
    # Speed perturbation: the largest relative change of playback speed (0.1: factors 0.9-1.1).
    speed_change: float = field(default=0.0, metadata=valid(Range(0, 0.5)))
    # The largest relative change of the log-mel's length in time (0.1: 0.9-1.1), pitch kept.
    time_stretch: float = field(default=0.0, metadata=valid(Range(0, 0.5)))
    freq_masks: int = field(default=0, metadata=valid(NON_NEGATIVE))
    freq_mask_width: int = field(default=0, metadata=valid(NON_NEGATIVE))
    time_masks: int = field(default=0, metadata=valid(NON_NEGATIVE))
    time_mask_width: int = field(default=0, metadata=valid(NON_NEGATIVE))
    label_smoothing: float = field(default=0.0, metadata=valid(Range(0, 1, high_open=True)))


@dataclass
class LoopConfig:
    """How the training loop runs (the `run` section of config.json)."""

    epochs: int = field(default=2, metadata=valid(COUNT))
    batch_size: int = field(default=256, metadata=valid(COUNT))
    seed: int = field(default=0, metadata=valid(Range(0, 2**32 - 1)))  # numpy's seed range
    device: str = field(default="auto", metadata=valid(OneOf(DEVICES)))
    amp: bool = True  # mixed precision on CUDA only (bf16 where supported, else fp16 + GradScaler)
    checkpoint_every: int = field(default=10, metadata=valid(COUNT))
    # processes decoding clips into the cache on first use (0 = one per core)
    workers: int = field(default=0, metadata=valid(NON_NEGATIVE))


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
                raise UsageError(f"{origin}: section {section_name!r} must be a mapping of fields")
            for key, value in values.items():
                _assign(section, section_name, key, value, origin)
        config.validate(origin)
        return config

    def override(self, assignment: str, origin: str = "--set") -> None:
        """Apply one `section.key=value` (value parsed as JSON, else taken as a string); errors
        name `origin`, the option that asked for it."""
        target, eq, text = assignment.partition("=")
        section_name, dot, key = target.strip().partition(".")
        if not eq or not dot:
            raise UsageError(f"{origin} {assignment!r}: expected section.key=value, e.g. optim.lr=0.05")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        _assign(_section(self, section_name, origin), section_name, key, value, origin)

    def validate(self, origin: str = "config") -> None:
        """Every field in its range (see `valid`), and the ranges that span two fields."""
        for section_spec in dataclasses.fields(self):
            section = getattr(self, section_spec.name)
            for spec in dataclasses.fields(section):
                _check(section_spec.name, spec, getattr(section, spec.name), origin)
        if self.optim.min_lr > self.optim.lr:
            raise UsageError(f"{origin}: optim.min_lr={self.optim.min_lr:g} must not exceed optim.lr={self.optim.lr:g}")

    def save(self, path: Path, labels: list[str], front_end: dict | None) -> None:
        """The run folder's config.json: the recipe, the class order and the model's front end."""
        document = {**self.to_dict(), schema.LABELS_KEY: list(labels), schema.FRONT_END_KEY: front_end}
        fileio.write_text(path, json.dumps(document, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        """A config file (JSON, or YAML by its suffix) with every section and nothing else but the
        keys `save` adds; fields a section leaves out keep their defaults."""
        path = Path(path)
        data = _read_document(path)
        sections = [f.name for f in dataclasses.fields(cls)]
        unknown = [key for key in data if key not in sections and key not in EXTRA_KEYS]
        missing = [name for name in sections if name not in data]
        if unknown:
            raise UsageError(
                f"{path}: not a hark training config: unknown keys {', '.join(map(repr, unknown))}"
                + (f" and missing sections {', '.join(missing)}" if missing else "")
                + f"; a config has the sections {', '.join(sections)}"
            )
        if missing:
            raise UsageError(
                f"{path}: missing config sections: {', '.join(missing)} "
                "(`hark train --print-config` shows a complete config)"
            )
        return cls.from_dict({k: v for k, v in data.items() if k in sections}, origin=str(path))


def _read_document(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: cannot read the config ({getattr(err, 'strerror', None) or err})") from None
    if path.suffix.lower() in YAML_SUFFIXES:
        try:
            data = yaml.load(text, Loader=_YamlLoader)  # a SafeLoader: builds plain data only
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise UsageError(f"{path}: not valid YAML{where} ({getattr(err, 'problem', None) or err})") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise UsageError(
                f"{path}: not valid JSON at line {err.lineno}, column {err.colno} ({err.msg}); "
                f"YAML configs need a {' or '.join(YAML_SUFFIXES)} name"
            ) from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a config must be a mapping of sections, not {type(data).__name__}")
    return data


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, plus floats without a dot (`1e-3`), which YAML 1.1 reads as strings."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)[eE][-+]?\d+$"), list("-+0123456789.")
)


def _section(config: TrainConfig, name: str, origin: str):
    names = [f.name for f in dataclasses.fields(config)]
    if name not in names:
        raise UsageError(f"{origin}: unknown config section {name!r}; valid: {', '.join(names)}")
    return getattr(config, name)


def _assign(section, section_name: str, key: str, value, origin: str) -> None:
    specs = {spec.name: spec for spec in dataclasses.fields(section)}
    hints = typing.get_type_hints(type(section))
    if key not in specs:
        raise UsageError(
            f"{origin}: unknown field {section_name}.{key}; valid: " + ", ".join(f"{section_name}.{k}" for k in specs)
        )
    try:
        coerced = _coerce(value, hints[key])
    except (TypeError, ValueError) as err:
        raise UsageError(f"{origin}: {section_name}.{key}={value!r}: {err}") from None
    _check(section_name, specs[key], coerced, origin)
    setattr(section, key, coerced)


def _check(section_name: str, spec: dataclasses.Field, value, origin: str) -> None:
    problem = problem_of(spec, value)
    if problem:
        raise UsageError(f"{origin}: {section_name}.{spec.name}={_show(value)} {problem}")


def _show(value) -> str:
    if isinstance(value, tuple):
        return ",".join(map(_show, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


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
