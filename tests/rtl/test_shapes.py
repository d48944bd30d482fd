"""`hlsgen rtl` on networks whose stages leave part of their input unused (issue 24): pooling and a strided
convolution with a remainder, 'same' and 'valid' padding, an input channel no kernel reads, a weight row and a
weight column of zeros. Verilator warns about the unused input bits (UNUSEDSIGNAL), which the RTL flow used
to take as fatal ("Exiting due to 1 warning(s)"); now such warnings are expected of generated code and shown
with --debug, while a warning that can mean wrong logic still fails the build (hlsgen/rtl/verilate.py)."""

from __future__ import annotations

import numpy as np
import pytest
from rtlkit import edit_weight, write_project
from specs import random_spec

from hlsgen import golden
from hlsgen.errors import HlsgenError
from hlsgen.spec import HardwareSpec


def _spec(raw: dict, zero: dict[str, list]) -> HardwareSpec:
    """``random_spec`` of ``raw`` with the weight codes at each of ``zero[layer]`` (index expressions) set to 0."""
    spec = random_spec(raw, seed=7)
    for name, indices in zero.items():
        stage = next(s for s in spec.stages if s.name == name)
        codes = stage.weight_codes.copy()
        for index in indices:
            codes[index] = 0
        spec = spec.with_weights(name, codes, stage.bias_codes)
    return spec


def valid_spec() -> HardwareSpec:
    """8x8 -> conv 3x3 stride 2 'valid' (row and column 7 never read) -> relu -> max pool 2x2 on 3x3 (row and
    column 2 never read) -> flatten -> dense 3->4 with weight row 1 zero (an input no output reads) and
    column 2 zero (an output that is its bias)."""
    raw = {"name": "valid", "model": {"input_shape": [8, 8, 1], "layers": [
        {"type": "Conv2D", "name": "c1", "filters": 3, "kernel_size": 3, "strides": 2, "activation": "relu"},
        {"type": "MaxPooling2D", "name": "p1", "pool_size": 2},
        {"type": "Flatten", "name": "f"},
        {"type": "Dense", "name": "d1", "units": 4}]},
        "precision": {"input": "ap_ufixed<4,0>"}, "hls": {"softmax": "none"}}
    return _spec(raw, {"d1": [np.s_[1, :], np.s_[:, 2]]})


def same_spec() -> HardwareSpec:
    """8x8x2 -> conv 3x3 'same' whose kernels never read input channel 1 -> relu -> average pooling 3x3
    stride 3 (rows and columns 6, 7 never read) -> max pooling 3x3 'same' on 2x2 -> flatten -> dense -> softmax."""
    raw = {"name": "same", "model": {"input_shape": [8, 8, 2], "layers": [
        {"type": "Conv2D", "name": "c1", "filters": 2, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "AveragePooling2D", "name": "p1", "pool_size": 3},
        {"type": "MaxPooling2D", "name": "p2", "pool_size": 3, "padding": "same"},
        {"type": "Flatten", "name": "f"},
        {"type": "Dense", "name": "d1", "units": 3, "activation": "softmax"}]},
        "precision": {"input": "ap_ufixed<4,0>"}, "hls": {"softmax": "argmax"}}
    return _spec(raw, {"c1": [np.s_[:, :, 1, :]]})


SPECS = {"valid": valid_spec, "same": same_spec}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_shapes_equal_the_golden_model_in_the_interpreter(rtl_tools, name):
    from hlsgen.rtl.trace import trace_stages

    spec = SPECS[name]()
    x = np.random.default_rng(3).integers(0, spec.input_t.max_code + 1, (200, *spec.input_shape))
    comb = trace_stages(spec.stages, spec.input_t)
    values = np.array([np.asarray(comb(row * spec.input_t.lsb), dtype=np.float64)
                       for row in x.reshape(len(x), -1).astype(np.float64)])
    got = np.round(values * 2.0**spec.output_t.frac).astype(np.int64)
    assert np.array_equal(got, golden.run(spec, x).output.reshape(len(x), -1))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SPECS))
def test_unused_inputs_are_bit_exact_whole_and_per_layer(rtl_tools, tmp_path, capsys, name):
    from hlsgen.rtl import rtl_command

    spec = SPECS[name]()
    project = write_project(tmp_path / "p", spec, images=40)
    assert rtl_command(project, None, layers=False, synth=False, jobs=2) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "rtl: 40/40 images bit-exact" in out and "expected warnings" in out, out
    assert rtl_command(project, None, layers=True, synth=False, jobs=2, debug=True) == 0
    out = capsys.readouterr().out
    assert "rtl: 40/40 images bit-exact" in out and "DIFFERENT" not in out, out
    assert "%Warning-UNUSEDSIGNAL (expected of generated code)" in out, out
    if name == "valid":
        # the weight column that was zero is given a weight after the build: the RTL built from the edited
        # spec computes that output from an input now, and no longer gives the build's expected.txt
        before = golden.run(spec, np.loadtxt(project / "tb_data" / "inputs.txt", dtype=np.int64)
                            .reshape(40, *spec.input_shape)).output
        edit_weight(project, "d1.weight", (0, 2), 100, bits=spec.stages[-1].weight_t.width)
        after = HardwareSpec.load(project)
        x = np.loadtxt(project / "tb_data" / "inputs.txt", dtype=np.int64).reshape(40, *spec.input_shape)
        assert not np.array_equal(golden.run(after, x).output, before)  # the edit is observable
        for layers in (False, True):
            assert rtl_command(project, None, layers=layers, synth=False, jobs=2) == 1
            assert "first: image" in capsys.readouterr().out


def test_a_warning_that_can_mean_wrong_logic_fails_the_build(tmp_path):
    from hlsgen.rtl.verilate import check_warnings

    log = ("%Warning-UNUSEDSIGNAL: ../src/m.v:4:19: Bits of signal are not used: 'model_inp'[7:6]\n"
           "%Warning-WIDTHTRUNC: ../src/m.v:9:5: Operator ASSIGNW expects 4 bits on the Assign RHS, but RHS's "
           "VARREF 'x' generates 6 bits.\n")
    shown: list[str] = []
    with pytest.raises(HlsgenError, match=r"rtl: m: Verilator warns %Warning-WIDTHTRUNC: .*may be wrong"):
        check_warnings("m", log, tmp_path / "verilator.log", shown.append)
    expected = check_warnings("m", log.splitlines()[0], tmp_path / "verilator.log", shown.append)
    assert expected == [("UNUSEDSIGNAL", "../src/m.v:4:19: Bits of signal are not used: 'model_inp'[7:6]")]
    assert len(shown) == 1 and "UNUSEDSIGNAL" in shown[0]


@pytest.mark.slow
def test_the_check_design_wraps_an_accumulator_and_reads_signed_codes(rtl_tools, tmp_path, capsys):
    """The MAC's sums leave a narrow AP_WRAP accumulator (the cast wraps them as hls4ml does) from signed
    inputs; a strided 'same' convolution before it. Whole network, every image bit-exact."""
    from hlsgen.fixed import FixedType
    from hlsgen.rtl import rtl_command
    from hlsgen.rtl.mac import applies
    from hlsgen.spec import Stage

    t, rng = FixedType.parse, np.random.default_rng(11)
    x_t, w_t = t("ap_fixed<6,2>"), t("ap_fixed<5,1>")
    conv_acc, act = t("ap_fixed<16,6>"), t("ap_fixed<6,3,AP_RND_CONV,AP_SAT>")
    narrow = t("ap_fixed<10,3>")  # AP_WRAP, 7 fraction bits as the products: 12 products up to 4 x 1 leave [-4, 4)
    spec = HardwareSpec("wrap", (5, 5, 1), x_t, (
        Stage("c", "conv2d", (5, 5, 1), (2, 2, 3), x_t, act, w_t, w_t, conv_acc, rng.integers(-16, 16, (3, 3, 1, 3)),
              rng.integers(-16, 16, 3), {"kernel_size": [3, 3], "strides": [3, 3], "padding": "same"}),
        Stage("f", "flatten", (2, 2, 3), (12,), act, act),
        Stage("d", "dense", (12,), (3,), act, t("ap_fixed<8,4,AP_RND,AP_SAT>"), w_t, w_t, narrow,
              rng.integers(-16, 16, (12, 3)), rng.integers(-16, 16, 3))))
    assert all(applies(s) for s in spec.stages if s.kind in ("conv2d", "dense"))
    x = rng.integers(-32, 32, (300, 5, 5, 1))
    project = write_project(tmp_path / "p", spec, inputs=x)
    assert rtl_command(project, None, layers=False, synth=False, jobs=2) == 0, capsys.readouterr()
    assert "rtl: 300/300 images bit-exact" in capsys.readouterr().out
