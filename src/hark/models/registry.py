"""Model names to constructors. Every model maps waveforms `[B, T]` to logits `[B, C]`, ends in
an `nn.Linear` called `head` whose input is the embedding (`embedding_dim` wide), and records
the `sample_rate` it expects."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from hark.errors import HarkError, UsageError

ModelFactory = Callable[..., nn.Module]
_MODELS: dict[str, ModelFactory] = {}


def register_model(name: str) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator for `factory(num_classes, sample_rate, **options) -> nn.Module`."""

    def add(factory: ModelFactory) -> ModelFactory:
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        _MODELS[name] = factory
        return factory

    return add


def list_models() -> list[str]:
    return sorted(_MODELS)


def describe_model(name: str) -> str:
    """The first line of the factory's docstring."""
    doc = inspect.getdoc(_factory(name)) or ""
    return doc.splitlines()[0] if doc else ""


def _factory(name: str) -> ModelFactory:
    if name not in _MODELS:
        raise UsageError(f"unknown model {name!r}; valid models: {', '.join(list_models())}")
    return _MODELS[name]


def model_options(name: str) -> list[str]:
    """The options `create_model(name, ...)` takes besides the class count and the sample rate."""
    return [p for p in inspect.signature(_factory(name)).parameters if p not in ("num_classes", "sample_rate")]


def create_model(name: str, num_classes: int, sample_rate: int = 16000, **options) -> nn.Module:
    """An option set to None counts as not given, so one config (e.g. `spec_augment=None`)
    can build every model, including those without that option."""
    factory = _factory(name)
    accepted = model_options(name)
    options = {key: value for key, value in options.items() if key in accepted or value is not None}
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise UsageError(
            f"model {name!r} has no option {', '.join(unknown)}; its options: {', '.join(accepted) or 'none'}"
        )
    if num_classes < 2:
        raise HarkError(f"model {name!r} needs at least 2 classes, got {num_classes}")
    model = factory(num_classes=num_classes, sample_rate=sample_rate, **options)
    model.sample_rate = sample_rate
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
