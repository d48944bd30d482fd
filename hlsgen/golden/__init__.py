"""The golden model: a spec run over input codes (:mod:`.network`), each layer's integer arithmetic
(:mod:`.layers`) and hls4ml's softmax tables (:mod:`.softmax`). Imports only ``fixed`` and ``spec``:
never TensorFlow, hls4ml, PyYAML or the config package."""

from hlsgen.golden.network import GoldenResult, StageStats, labels, run

__all__ = ["GoldenResult", "StageStats", "labels", "run"]
