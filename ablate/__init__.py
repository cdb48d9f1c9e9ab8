"""ablate: ablation experiments for image classification."""
from ablate.config.config_store import register_configs
from ablate.config.naming import register_resolvers

__version__ = "0.1.0"
register_resolvers()
register_configs()
