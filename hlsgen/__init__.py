"""hlsgen: a Keras CNN to an FPGA in 8-bit fixed point, verified bit for bit."""

from pathlib import Path

__version__ = "0.1.0"

#: Top of the source tree (templates/ lives beside the package; installs are editable).
SOURCE_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = SOURCE_ROOT / "templates"
