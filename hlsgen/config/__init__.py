"""The YAML config: loading into a frozen :class:`Config` (:mod:`.loader`), the layer schema
(:mod:`.schema`), value checks (:mod:`.checks`) and the precision rules (:mod:`.precision`)."""

from hlsgen.config.loader import (
    Config,
    DataConfig,
    HlsConfig,
    LayerConfig,
    SoftmaxConfig,
    TrainConfig,
    config_from_dict,
    load_config,
    quote_types,
)
from hlsgen.config.precision import LayerPrecision

__all__ = ["Config", "DataConfig", "HlsConfig", "LayerConfig", "LayerPrecision", "SoftmaxConfig", "TrainConfig",
           "config_from_dict", "load_config", "quote_types"]
