"""Model registry: `create_model(name, **kwargs)`. Importing this package registers every model."""

from fer.models import cnn4, resnet, vgg  # noqa: F401  (registers)
from fer.models.registry import (
                                 count_parameters,
                                 create_model,
                                 get_classifier,
                                 list_models,
                                 models_accepting,
                                 register_model,
)

__all__ = ["count_parameters", "create_model", "get_classifier", "list_models", "models_accepting", "register_model"]
