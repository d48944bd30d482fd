"""The generated run files without a build (fast): the Unified cfg, vitis.sh, the softmax tables header
and the patch of hls4ml's initialisers (issue 14). End to end under fake Vitis: test_vitis_flows.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from specs import random_spec, small_config

from hlsgen.errors import HlsgenError
from hlsgen.golden.softmax import exp_table, invert_table
from hlsgen.hls import tables
from hlsgen.hls.templates import TEMPLATES_DIR, render

HLS4ML_ACTIVATION = None
try:
    import hls4ml

    HLS4ML_ACTIVATION = Path(hls4ml.__file__).parent / "templates" / "vivado" / "nnet_utils" / "nnet_activation.h"
except ImportError:  # pragma: no cover - hls4ml is a dependency
    pass


def cfg(**values) -> list[str]:
    defaults = dict(top="net", part="xc7z020clg400-1", clock="10", uncertainty="27%", cosim_n="100")
    return render("hls_config.cfg", **{**defaults, **values}).splitlines()


def test_cfg_lists_what_csim_reads_and_the_tcl_flows_settings():
    lines = cfg()
    settings = [line for line in lines if line and not line.startswith("#")]
    for line in ("part=xc7z020clg400-1", "clock=10ns", "clock_uncertainty=27%", "syn.top=net",
                 "syn.file=firmware/net.cpp", "syn.file_cflags=firmware/net.cpp,-std=c++0x",
                 "syn.compile.name_max_length=80", "syn.schedule.enable_dsp_full_reg=0",
                 "tb.file=net_test.cpp", "tb.file=firmware/weights", "tb.file=tb_data",
                 "tb.file_cflags=net_test.cpp,-std=c++0x", "csim.argv=0", "cosim.argv=--rtl 100"):
        assert line in settings, line
    assert not any("ap_types" in line or "-I" in line for line in settings)
    assert settings.index("part=xc7z020clg400-1") < settings.index("[hls]")  # part is a general option


def test_vitis_sh_is_valid_bash_and_names_its_sources():
    script = (TEMPLATES_DIR / "vitis.sh").read_text()
    assert subprocess.run(["bash", "-n", str(TEMPLATES_DIR / "vitis.sh")]).returncode == 0
    for source in ("hls4ml docs/intro/setup.rst", "UG1702 \"vitis-run Command\"", "vitis_hls Command",
                   "Launching Vitis Unified IDE", "backends/vitis/vitis_backend.py"):
        assert source in script, source
    assert "2020.2" not in script and "2020.2" not in (TEMPLATES_DIR / "Makefile").read_text()


def fake_model(spec):
    """What tables_header reads of an hls4ml model: layer names, index, activation and table types."""
    layers = []
    for index, s in enumerate(spec.stages, start=2):
        attrs = {"activation": s.kind.value}
        if s.kind == "softmax":
            attrs.update(exp_table_t=SimpleNamespace(precision=s.params.exp_table_t),
                         inv_table_t=SimpleNamespace(precision=s.params.inv_table_t))
        layers.append(SimpleNamespace(name=s.name, index=index, get_attr=attrs.get))
    return SimpleNamespace(get_layers=lambda: layers)


@pytest.mark.parametrize("softmax", ["stable", "latency"])
def test_tables_header_holds_the_golden_models_tables(tmp_path, softmax):
    spec = random_spec(small_config(softmax=softmax))
    stage = next(s for s in spec.stages if s.kind == "softmax")
    p = stage.params
    (tmp_path / "h.h").write_text(tables.tables_header(spec, fake_model(spec)))
    values = tables.read_header_values(tmp_path / "h.h")
    config = f"softmax_config{spec.stages.index(stage) + 2}"
    assert sorted(values) == [f"{config}::exp_table", f"{config}::invert_table"]
    addr = p.inp_norm_t if softmax == "stable" else stage.input_t
    np.testing.assert_array_equal(np.array(values[f"{config}::exp_table"]) * 2.0 ** p.exp_table_t.frac,
                                  exp_table(addr, p.exp_table_size, p.exp_table_t, softmax == "stable"))
    np.testing.assert_array_equal(np.array(values[f"{config}::invert_table"]) * 2.0 ** p.inv_table_t.frac,
                                  invert_table(p.inv_inp_t, p.inv_table_size, p.inv_table_t))


def test_tables_header_refuses_types_hls4ml_changed():
    spec = random_spec(small_config(softmax="stable"))
    model = fake_model(spec)
    layer = next(ly for ly in model.get_layers() if ly.get_attr("exp_table_t"))
    other = SimpleNamespace(precision="ap_fixed<16,6>")
    layer.get_attr = {"activation": "softmax", "exp_table_t": other, "inv_table_t": other}.get
    with pytest.raises(HlsgenError, match="exp_table_t: hls4ml has ap_fixed<16,6"):
        tables.tables_header(spec, model)


@pytest.mark.skipif(HLS4ML_ACTIVATION is None or shutil.which("g++") is None, reason="needs hls4ml and g++")
def test_the_patch_applies_to_hls4ml_and_compiles(tmp_path):
    """hls4ml 1.3.0's nnet_activation.h (the file the Vitis backend copies) takes the patch once; any
    other text is refused; the patched header compiles."""
    spec = random_spec(small_config(softmax="none"))
    firmware = tmp_path / "firmware"
    (firmware / "nnet_utils").mkdir(parents=True)
    for f in HLS4ML_ACTIVATION.parent.glob("*.h"):
        shutil.copy(f, firmware / "nnet_utils" / f.name)
    (firmware / "parameters.h").write_text("#ifndef P\n#define P\n#include \"nnet_utils/nnet_activation.h\"\n#endif\n")
    tables.write_softmax_tables(spec, fake_model(spec), tmp_path)
    patched = (firmware / "nnet_utils" / "nnet_activation.h").read_text()
    assert patched.count("struct softmax_tables;") == 1 and "exp_fcn_float(x);" not in patched
    assert (firmware / "parameters.h").read_text().endswith('#include "hlsgen_tables.h"\n\n#endif\n')
    ap_types = HLS4ML_ACTIVATION.parents[1] / "ap_types"
    res = subprocess.run(["g++", "-std=c++0x", "-fsyntax-only", "-I", str(ap_types), "-x", "c++",
                          str(firmware / "parameters.h")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    with pytest.raises(HlsgenError, match="not the 1.3.0 code"):
        tables.write_softmax_tables(spec, fake_model(spec), tmp_path)  # already patched: refused
