"""compare_trace: the C simulation's layer trace against the golden trace of the project's checked input
codes, and its one-line errors on trace files that cannot be right (no compiler needed; the input files
themselves are checked by hlsgen.verify.derive: tests/verify/test_evidence.py)."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from specs import random_spec, small_config

from hlsgen import golden
from hlsgen.errors import UsageError
from hlsgen.verify.compare import compare_trace


@pytest.fixture()
def project(tmp_path):
    """A tb_data/ with 3 input images and a layer trace of images 0 and 2 equal to the golden one."""
    spec = random_spec(small_config(), seed=4)
    inputs = np.random.default_rng(1).integers(0, 256, (3, *spec.input_shape))
    trace = golden.run(spec, inputs).trace
    tb = tmp_path / "tb_data"
    tb.mkdir()
    lines = [f"{i} {s.name} {' '.join(map(str, trace[s.name][i].ravel()))}" for i in (0, 2) for s in spec.stages]
    (tb / "csim_trace.txt").write_text("\n".join(lines) + "\n")
    return tmp_path, spec, inputs.reshape(3, -1)


def test_matching_trace(project):
    path, spec, inputs = project
    assert compare_trace(path, spec, inputs)["first_layer"] is None


def test_first_differing_layer_is_named(project):
    path, spec, inputs = project
    trace = path / "tb_data" / "csim_trace.txt"
    lines = trace.read_text().splitlines()
    image, name, first, *rest = lines[-2].split()  # image 2, the second-to-last stage
    lines[-2] = " ".join([image, name, str(int(first) + 1), *rest])
    trace.write_text("\n".join(lines) + "\n")
    result = compare_trace(path, spec, inputs)
    assert (result["first_layer"], result["image"], result["index"]) == (name, 2, 0)


@pytest.mark.parametrize("edit, message", [
    (lambda tb: (tb / "csim_trace.txt").write_text("5 c1 1 2 3\n"),
     "csim_trace.txt: traces image 5, the project has 3 test images"),
    (lambda tb: (tb / "csim_trace.txt").write_text("0 c1 1 x 3\n"),
     "csim_trace.txt: line 1: expected 'image layer code...'"),
    (lambda tb: (tb / "csim_trace.txt").write_text(""), "csim_trace.txt: no traced images"),
    (lambda tb: ((tb / "csim_trace.txt").unlink(), os.mkfifo(tb / "csim_trace.txt")),
     "csim_trace.txt: csim_trace.txt is not a regular file"),  # a FIFO would block a plain read for ever
])
def test_bad_trace_is_a_one_line_usage_error(project, edit, message):
    path, spec, inputs = project
    edit(path / "tb_data")
    with pytest.raises(UsageError, match=re.escape(message)) as err:
        compare_trace(path, spec, inputs)
    assert "\n" not in str(err.value)
