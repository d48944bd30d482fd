"""The weight-free network and the hardware spec (:mod:`.model`: ``HardwareSpec = Network + codes``): typed
stages (:mod:`.kinds`), FixedTypes and integer weight codes, saved into every project; the HLS settings that
travel beside it (:mod:`hlsgen.hls_settings`). Lowering a config into a network and a spec lives in
:mod:`hlsgen.spec.lower`, which imports the config package; this ``__init__`` does not, so the golden model
never loads the config or PyYAML."""

from hlsgen.hls_settings import HlsSettings
from hlsgen.spec.kinds import ConvParams, PoolParams, SoftmaxParams, StageKind
from hlsgen.spec.model import HardwareSpec, Network, Stage, check_codes

__all__ = ["ConvParams", "HardwareSpec", "HlsSettings", "Network", "PoolParams", "SoftmaxParams", "Stage", "StageKind",
           "check_codes"]
