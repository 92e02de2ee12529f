"""Configuration: load YAML with positions, check schema and rules, build the frozen model."""

from cohortops.config.loader import default_config_path, load_config
from cohortops.config.model import Config

__all__ = ["Config", "default_config_path", "load_config"]
