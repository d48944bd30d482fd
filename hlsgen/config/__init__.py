"""The YAML config: loading into a frozen :class:`Config` (:mod:`.loader`), the layer schema
(:mod:`.schema`), value checks (:mod:`.checks`), the precision rules (:mod:`.precision`), names that must not collide
(:mod:`.identifiers`) and safe YAML reading (:mod:`.yamlfile`)."""

from hlsgen.config.loader import (
    Config,
    DataConfig,
    LayerConfig,
    SoftmaxConfig,
    TrainConfig,
    config_from_dict,
    load_config,
)
from hlsgen.config.precision import CHOSEN, INPUT_KEY, LayerPrecision, Quantity, TypeKey
from hlsgen.config.yamlfile import quote_types

__all__ = ["CHOSEN", "INPUT_KEY", "Config", "DataConfig", "LayerConfig", "LayerPrecision", "Quantity",
           "SoftmaxConfig", "TrainConfig", "TypeKey", "config_from_dict", "load_config", "quote_types"]
