"""ablate: ablation experiments for image classification."""
from ablate.config_store import register_configs
from ablate.naming import register_resolvers

__version__ = "0.1.0"
register_resolvers()
register_configs()
