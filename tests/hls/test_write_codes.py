"""tb_data's code files: one image per line, codes separated by spaces, the same bytes whichever way they are
spelled (a table of the distinct codes, or each code on its own when the range is wide)."""

from __future__ import annotations

import numpy as np
import pytest

from hlsgen.hls.testbench import write_codes


def _reference(codes: np.ndarray) -> str:
    flat = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)
    return "".join(" ".join(str(int(v)) for v in row) + "\n" for row in flat)


@pytest.mark.parametrize("lo, hi", [(0, 256), (-128, 128), (-(2**17), 2**17), (-(2**40), 2**40), (5, 6)])
def test_code_files_are_the_codes_in_decimal(tmp_path, lo, hi):
    codes = np.random.default_rng(lo & 0xFFFF).integers(lo, hi, size=(7, 3, 4, 2))
    write_codes(tmp_path / "c.txt", codes)
    assert (tmp_path / "c.txt").read_text() == _reference(codes)
