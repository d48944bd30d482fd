"""A project proves itself from its spec, or says which file disagrees.

``spec.json`` + ``weights.npz`` are the root: everything a verdict rests on is derived from them or checked
against them before any simulation output is believed (:func:`check_project`):

1. the spec loads and is consistent (shapes, types, codes in range: :mod:`hlsgen.spec.validate`);
2. the manifest is this spec's (its build id is the spec's digest);
3. the firmware is the spec's: its weights (``.txt`` for C simulation, ``.h`` for synthesis) and types
   (:mod:`hlsgen.verify.firmware`);
4. the expected outputs are the golden model's, recomputed from the spec over ``tb_data/inputs.txt``;
5. every other generated source is byte for byte what the build sealed, and nothing was added where the
   compiler looks.

Each failure names the file: firmware whose weights or types are not the spec's is a VerificationError (exit 1:
the hardware would not compute what the spec says), every other one a UsageError (exit 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hlsgen import golden
from hlsgen.errors import UsageError
from hlsgen.outdir import require_project
from hlsgen.spec import HardwareSpec
from hlsgen.verify.evidence import Manifest
from hlsgen.verify.firmware import check_firmware


@dataclass(frozen=True)
class Evidence:
    """A project's checked evidence: its spec and manifest, the input codes, the expected output codes
    (the golden model's, derived), the labels and QKeras' labels (None when the build had none)."""

    project: Path
    spec: HardwareSpec
    manifest: Manifest
    inputs: np.ndarray
    expected: np.ndarray
    labels: np.ndarray
    qkeras_labels: np.ndarray | None


def check_project(project: str | Path, firmware: bool = True) -> Evidence:
    """The project's evidence, derived from its spec and checked (see the module's list); ``firmware``
    False skips the firmware and source checks (the RTL flow builds from the spec, not the firmware)."""
    project = require_project(project, "spec.json")
    spec = HardwareSpec.load(project)
    manifest = Manifest.load(project)
    manifest.check_build(spec)
    if firmware:
        check_firmware(project, spec)
    tb = project / "tb_data"
    n_in, n_out = math.prod(spec.input_shape), math.prod(spec.output_shape)
    inputs = manifest.check_file(tb / "inputs.txt", n_in, spec.input_t)
    expected = manifest.check_file(tb / "expected.txt", n_out, spec.output_t)
    derived = golden.run(spec, inputs.reshape(len(inputs), *spec.input_shape)).output.reshape(len(inputs), -1)
    wrong = np.flatnonzero(np.any(derived != expected, axis=1))
    if len(wrong):
        k = int(wrong[0])
        j = int(np.flatnonzero(derived[k] != expected[k])[0])
        raise UsageError(f"{tb / 'expected.txt'}: line {k + 1}: not the golden model's output for this spec "
                         f"({len(wrong)} of {len(inputs)} lines differ; first output {j}: file {expected[k, j]}, "
                         f"golden {derived[k, j]}); rebuild the project")
    labels = manifest.check_file(tb / "labels.txt", 1, lo=0)[:, 0]
    qk = manifest.check_file(tb / "qkeras_labels.txt", 1, lo=0)[:, 0] if "qkeras_labels.txt" in manifest.sha256 \
        else None
    if firmware:
        manifest.check_sources(project)
    return Evidence(project, spec, manifest, inputs, derived, labels, qk)
