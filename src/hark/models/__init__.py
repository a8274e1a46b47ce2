"""Model registry: `create_model(name, num_classes, sample_rate=16000, **options)`.
Importing this package registers every built-in model."""

from hark.models import bcresnet, logmel_cnn, m5, matchboxnet  # noqa: F401  (registration side effect)
from hark.models.registry import (
    count_parameters,
    create_model,
    describe_model,
    list_models,
    model_options,
    register_model,
)

__all__ = ["count_parameters", "create_model", "describe_model", "list_models", "model_options", "register_model"]
