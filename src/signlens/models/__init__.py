"""Model layer: every architecture is built through `create_model(name, num_classes, in_chans, ...)`."""

from signlens.models import (
    cnn,  # noqa: F401  (registers the scratch models)
    landmark,  # noqa: F401  (registers landmark-mlp)
    mobilenet,  # noqa: F401  (registers mobilenetv2, mobilenetv2-se)
    reference,  # noqa: F401  (registers the seed study's s0-customcnn)
    resnet,  # noqa: F401  (registers resnet18, resnet18-se)
)
from signlens.models.registry import create_model, list_models, model_arguments, register, resolved_arguments

__all__ = ["create_model", "list_models", "model_arguments", "register", "resolved_arguments"]
