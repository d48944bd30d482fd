"""hlsgen.rtl.da4ml_api, the one place that knows da4ml 0.5.2 (numpy 1, the primary stack) from 0.6.x (numpy 2,
the Keras 3 stack): what it hides must hold for the da4ml installed in this venv, and nothing else imports
da4ml's moved names. tools/setup-rtl.sh installs requirements-rtl.lock (da4ml 0.5.2) only into a Keras 2
stack: on the Keras 3 stack it once replaced that lock's da4ml 0.6.0 by 0.5.2."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hlsgen.errors import ToolMissingError

ROOT = Path(__file__).resolve().parents[2]


def test_no_module_but_the_compat_one_imports_the_moved_names():
    moved = re.compile(r"da4ml\.(cmvm\.types|types)\b|_minimal_kif|keep_dead_inputs")
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
             for p in sorted((ROOT / "hlsgen").rglob("*.py")) if p.name != "da4ml_api.py"
             for n, line in enumerate(p.read_text().splitlines(), 1) if moved.search(line)]
    assert not found, found


def test_the_installed_da4ml_is_a_supported_one(rtl_tools):
    from hlsgen.rtl import da4ml_api, tools

    version = tools.require_da4ml()
    assert da4ml_api.series() in ("0.5", "0.6"), version
    numpy_major = int(np.__version__.split(".")[0])
    assert da4ml_api.series() == ("0.6" if numpy_major >= 2 else "0.5"), (version, np.__version__)


def test_another_da4ml_series_is_refused_exit_3(rtl_tools, monkeypatch):
    from hlsgen.rtl import da4ml_api, tools

    monkeypatch.setattr(da4ml_api, "version", lambda: "0.7.1")
    with pytest.raises(ToolMissingError, match=r"rtl: da4ml 0\.7\.1 is not supported \(0\.5\.2 or 0\.6\.x\)") as err:
        tools.require_da4ml()
    assert err.value.exit_code == 3


def test_an_unused_input_is_kept_with_its_whole_type(rtl_tools):
    """max pooling 2x2 on 3x3 (row and column 2 never read): the program still declares all 9 inputs, each
    as the whole input type (0.6 removes dead operations; the inputs must stay, in order)."""
    from hlsgen.fixed import FixedType
    from hlsgen.rtl import da4ml_api
    from hlsgen.rtl.trace import trace_stages
    from hlsgen.spec import Stage

    t = FixedType.parse("ap_fixed<6,2>")
    stage = Stage("p", "maxpool", (3, 3, 1), (1, 1, 1), t, t, accum_t=t,
                  params={"pool_size": [2, 2], "strides": [2, 2], "padding": "valid"})
    comb = trace_stages((stage,), t)
    assert comb.shape == (9, 1)
    kifs = [tuple(int(v) for v in da4ml_api.minimal_kif(q)) for q in comb.inp_qint]
    assert kifs == [(1, 1, 4)] * 9, kifs
    inputs = [op.id0 for op in comb.ops if op.opcode == -1]
    assert inputs == list(range(9))
    x = np.arange(9, dtype=np.float64) * t.lsb - 1.0  # codes -16..-8: the window's largest is x[4]
    assert float(np.asarray(comb(x))[0]) == x[4]


def test_the_saved_program_is_found_where_this_da4ml_writes_it(rtl_tools, tmp_path):
    """A stage's program (a CombLogic) and a weighted stage's check design (a Pipeline of two) written by
    da4ml's Verilog writer and read back through da4ml_api: equal to what was written."""
    from da4ml.codegen import VerilogModel

    from hlsgen.fixed import FixedType
    from hlsgen.rtl import da4ml_api, mac
    from hlsgen.spec import Stage

    t, w = FixedType.parse("ap_fixed<6,2>"), FixedType.parse("ap_fixed<4,1>")
    stage = Stage("d", "dense", (3,), (2,), t, FixedType.parse("ap_fixed<8,3,AP_RND,AP_SAT>"), w, w,
                  FixedType.parse("ap_fixed<16,6>"), np.array([[1, -2], [3, 0], [-8, 7]]), np.array([1, -1]))
    stub, post = mac.programs(stage, t)
    for name, program, pipeline in (("comb", post, False), ("pipe", da4ml_api.Pipeline((stub, post)), True)):
        VerilogModel(program, f"m_{name}", tmp_path / name).write()
        saved = da4ml_api.program_file(tmp_path / name / "model", pipeline)
        assert saved.is_file(), sorted(p.name for p in (tmp_path / name / "model").iterdir())
        da4ml_api.load_program(tmp_path / name / "model", pipeline).save(tmp_path / f"{name}.json")
        assert (tmp_path / f"{name}.json").read_text() == saved.read_text()
    expected = "comb.json" if da4ml_api.series() == "0.5" else "pipeline.json"
    assert da4ml_api.program_file(tmp_path / "pipe" / "model", True).name == expected


def _fake_venv(tmp_path: Path, qkeras_v3: bool) -> tuple[Path, Path]:
    """A venv whose python is this one, except that ``-m pip`` only records its arguments; with
    ``qkeras_v3`` a qkeras-v3 distribution is visible to importlib.metadata (a dist-info on PYTHONPATH)."""
    venv, log = tmp_path / "venv", tmp_path / "pip.log"
    (venv / "bin").mkdir(parents=True)
    extra = ""
    if qkeras_v3:
        dist = tmp_path / "site" / "qkeras_v3-1.2.1.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: qkeras-v3\nVersion: 1.2.1\n")
        extra = f'export PYTHONPATH="{tmp_path / "site"}${{PYTHONPATH:+:$PYTHONPATH}}"\n'
    (venv / "bin" / "python").write_text(
        f'#!/bin/bash\n{extra}if [ "$1" = -m ] && [ "$2" = pip ]; then echo "$*" >> "{log}"; exit 0; fi\n'
        f'exec "{sys.executable}" "$@"\n')
    (venv / "bin" / "python").chmod(0o755)
    return venv, log


def _has_qkeras_v3() -> bool:
    from importlib import metadata

    try:
        metadata.distribution("qkeras-v3")
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["keras3", "this venv"])
def test_setup_rtl_installs_the_rtl_lock_only_into_a_keras2_stack(rtl_tools, tmp_path, stack):
    keras3 = stack == "keras3" or _has_qkeras_v3()
    venv, log = _fake_venv(tmp_path, qkeras_v3=stack == "keras3")
    res = subprocess.run(["bash", str(ROOT / "tools" / "setup-rtl.sh"), str(venv)], cwd=ROOT, capture_output=True,
                         text=True, timeout=900, env={**os.environ, "PYTHONPATH": ""})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    pip = log.read_text() if log.exists() else ""
    if keras3:
        assert pip == "" and "is the Keras 3 stack" in res.stdout, (pip, res.stdout)
    else:
        assert pip.split() == ["-m", "pip", "install", "-q", "-r", str(ROOT / "requirements-rtl.lock")], pip
    assert re.search(r"setup-rtl: da4ml 0\.[56]\.\d+ ready", res.stdout), res.stdout
