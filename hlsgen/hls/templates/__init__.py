"""hlsgen's own templates (package data): the testbench, the project Makefile, the Vitis Unified cfg."""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Any

TEMPLATES_DIR = Path(__file__).resolve().parent


def render(name: str, **values: Any) -> str:
    """Fill ``templates/<name>`` (``$placeholders``, string.Template)."""
    return Template((TEMPLATES_DIR / name).read_text()).substitute(**values)
