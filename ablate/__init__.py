"""ablate: ablation experiments for image classification."""
from ablate.naming import register_resolvers

__version__ = "0.1.0"
register_resolvers()
