"""Models built by name: small_cnn, simple_cnn, resnet18 (CIFAR stem), resnet50 and vgg16_bn (torchvision)."""
from ablate.models.registry import build_model, MODELS

__all__ = ["build_model", "MODELS"]
