"""``hlsgen import``: a user's trained Keras/QKeras model file -> a complete hlsgen config whose
``train.init`` names the model's weights (:mod:`.command`), the model file read (:mod:`.reader`), its
layers translated (:mod:`.layers`) and its QKeras quantizers mapped to exact types (:mod:`.quant`)."""

import importlib

# Lazy (PEP 562): importing the package loads no TensorFlow; import_command does, on first use.
__all__ = ["import_command"]


def __getattr__(name: str):
    if name == "import_command":
        return importlib.import_module("hlsgen.importer.command").import_command
    raise AttributeError(f"module 'hlsgen.importer' has no attribute {name!r}")
