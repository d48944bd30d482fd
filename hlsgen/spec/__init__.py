"""The hardware spec (:mod:`.model`): typed stages (:mod:`.kinds`), FixedTypes and integer weight codes,
saved into every project; the HLS settings that travel beside it (:mod:`.settings`). Lowering a config
into a spec lives in :mod:`hlsgen.spec.lower`, which imports the config package; this ``__init__`` does
not, so the golden model never loads the config or PyYAML."""

from hlsgen.spec.kinds import ConvParams, PoolParams, SoftmaxParams, StageKind
from hlsgen.spec.model import HardwareSpec, Stage, check_codes
from hlsgen.spec.settings import HlsSettings

__all__ = ["ConvParams", "HardwareSpec", "HlsSettings", "PoolParams", "SoftmaxParams", "Stage", "StageKind",
           "check_codes"]
