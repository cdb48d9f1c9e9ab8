"""Models built by name: small_cnn, simple_cnn, enhanced_cnn, mlp, resnet18/50 (CIFAR stem), vgg16_bn."""
from ablate.models.registry import MODELS, build_model, register_model
from ablate.registry import import_all

import_all(__name__, __path__)    # every module here registers its models: a new file needs no import line

__all__ = ["build_model", "register_model", "MODELS"]
