"""The hardware spec (:mod:`.model`): typed stages, FixedTypes and integer weight codes, saved into every
project. Lowering a config into a spec lives in :mod:`hlsgen.spec.lower`, which imports the config
package; this ``__init__`` does not, so the golden model never loads the config or PyYAML."""

from hlsgen.spec.model import HardwareSpec, Stage, check_codes

__all__ = ["HardwareSpec", "Stage", "check_codes"]
