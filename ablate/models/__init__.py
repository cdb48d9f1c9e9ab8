"""Models built by name: small_cnn, simple_cnn, enhanced_cnn, mlp, resnet18/50 (CIFAR stem), vgg16_bn."""
import importlib
import pkgutil

from ablate.models.registry import MODELS, build_model, register_model

# every module of this package is imported once, which registers its models: a new file needs no import line
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["build_model", "register_model", "MODELS"]
