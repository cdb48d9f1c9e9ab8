"""Models built by name: small_cnn, simple_cnn, enhanced_cnn, mlp, resnet18/50 (CIFAR stem), vgg16_bn."""
from ablate.models import small_cnn, torchvision_adapters  # noqa: F401 - registers the models
from ablate.models.registry import MODELS, build_model, register_model

__all__ = ["build_model", "register_model", "MODELS"]
