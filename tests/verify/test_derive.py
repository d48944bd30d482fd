"""Evidence derived, not trusted (issue 26): the audit's forgeries on a generated project, each refused with
one line naming the file. The project is real (hls4ml's firmware, hlsgen's testbench and sealed manifest);
its "simulation output" is written here as the testbench would write it, so no compiler is needed: the
point is what compare believes. (The compiled flow: tests/hls/test_gate.py.)"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct

import numpy as np
import pytest
from specs import emit_test_project, random_spec, small_config
from test_evidence import output_text as _output_text

from hlsgen import cli, golden
from hlsgen.errors import HlsgenError, UsageError, VerificationError
from hlsgen.spec import HardwareSpec
from hlsgen.verify.compare import compare_project
from hlsgen.verify.derive import check_project
from hlsgen.verify.evidence import build_id

IMAGES = 6


def output_text(build: str, rows) -> str:
    return _output_text(build, rows, of=IMAGES)


def make_project(path, seed: int, io_type: str = "io_parallel"):
    spec = random_spec(small_config(), seed=seed)
    inputs = np.random.default_rng(seed).integers(0, 256, (IMAGES, *spec.input_shape))
    expected = golden.run(spec, inputs).output.reshape(IMAGES, -1)
    emit_test_project(path, spec, inputs, np.arange(IMAGES) % 5, np.argmax(expected, axis=1), io_type=io_type)
    return spec, expected


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """Two builds of the same network with other weights (seeds 4 and 5), io_parallel, and one io_stream."""
    root = tmp_path_factory.mktemp("derive")
    return {name: (root / name, *make_project(root / name, seed, io))
            for name, seed, io in (("p", 4, "io_parallel"), ("q", 5, "io_parallel"), ("s", 4, "io_stream"))}


@pytest.fixture(params=["p", "s"])
def project(request, templates, tmp_path):
    source, spec, expected = templates[request.param]
    path = tmp_path / "prj"
    shutil.copytree(source, path)
    (path / "tb_data" / "csim_output.txt").write_text(output_text(build_id(spec), expected))
    return path, spec, expected


def reseal(path, *names):
    """What a forger does after editing files: recompute their SHA-256 in the manifest."""
    manifest_path = path / "tb_data" / "manifest.json"
    m = json.loads(manifest_path.read_text())
    for name in names:
        digest = hashlib.sha256((path / name).read_bytes()).hexdigest()
        if name.startswith("tb_data/"):
            m["sha256"][name.split("/", 1)[1]] = digest
        else:
            m["sources"][name] = digest
    manifest_path.write_text(json.dumps(m))


def weight_file(path, spec, stage):
    """The firmware .txt/.h pair holding ``stage``'s weights (the file whose values are its codes)."""
    codes = spec.stage(stage).weight_codes
    lsb = spec.stage(stage).weight_t.lsb
    for txt in sorted((path / "firmware" / "weights").glob("w*.txt")):
        values = np.array([float(v) for v in txt.read_text().split(",")])
        if values.size == codes.size and sorted(values) == sorted(codes.reshape(-1) * lsb):
            return txt, txt.with_suffix(".h")
    raise AssertionError(f"no weight file for {stage}")


def one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text and len(text) < 400, text
    return text


def test_an_intact_project_compares(project):
    path, _, _ = project
    assert compare_project(path)["bit_exact"] == IMAGES


def test_another_builds_tb_data_is_refused(templates, tmp_path):
    """Audit 2: rm -rf P/tb_data; cp -a Q/tb_data P/tb_data (Q: other weights) passed 'bit-exact'."""
    p, q = tmp_path / "p", tmp_path / "q"
    shutil.copytree(templates["p"][0], p)
    shutil.copytree(templates["q"][0], q)
    q_spec, q_expected = templates["q"][1], templates["q"][2]
    (q / "tb_data" / "csim_output.txt").write_text(output_text(build_id(q_spec), q_expected))
    shutil.rmtree(p / "tb_data")
    shutil.copytree(q / "tb_data", p / "tb_data")
    with pytest.raises(UsageError) as err:
        compare_project(p)
    assert re.search(r"tb_data/manifest.json: build \w+ is not this project's", one_line(err))


def test_edited_firmware_with_forged_expected_and_manifest_fails(project):
    """Audit 3: zero every third value of a weight file, copy the simulation's output into expected.txt,
    recompute the manifest: csim said bit-exact. The firmware is checked against the spec first."""
    path, spec, expected = project
    txt, _ = weight_file(path, spec, "d1")
    values = txt.read_text().split(",")
    txt.write_text(",".join("0.0000000" if k % 3 == 0 else v for k, v in enumerate(values)))
    forged = expected.copy()
    forged[:, 0] += 1  # what the edited firmware "computed"
    (path / "tb_data" / "expected.txt").write_text("".join(" ".join(map(str, r)) + "\n" for r in forged))
    (path / "tb_data" / "csim_output.txt").write_text(output_text(build_id(spec), forged))
    reseal(path, "tb_data/expected.txt", txt.relative_to(path).as_posix())
    with pytest.raises(VerificationError) as err:
        compare_project(path)
    assert f"{txt}: " in one_line(err) and "values differ from the spec's d1 weight codes" in str(err.value)
    # the firmware put back, the forged expected.txt is still not the golden model's
    txt.write_text(",".join(values))
    reseal(path, txt.relative_to(path).as_posix())
    with pytest.raises(UsageError) as err:
        compare_project(path)
    assert "expected.txt: line 1: not the golden model's output for this spec" in one_line(err)


def test_the_weights_synthesis_compiles_are_checked(project):
    """Audit 4: one value of the .h initialiser (used under __SYNTHESIS__) edited; csim reads the .txt."""
    path, spec, _ = project
    _, header = weight_file(path, spec, "d1")
    text = header.read_text()
    init = text.index("= {") + 3
    first = text[init:text.index(",", init)]
    header.write_text(text[:init] + ("0.5" if float(first) != 0.5 else "0.25") + text[init + len(first):])
    with pytest.raises(VerificationError) as err:
        compare_project(path)
    assert f"{header}: 1 of " in one_line(err) and "first at 0" in str(err.value)


def test_an_edited_weight_code_in_the_spec_is_refused(project):
    """Audit 3 (--trace variant): one code edited in weights.npz: the manifest is not this spec's."""
    path, spec, _ = project
    stage = spec.stage("d1")
    w = stage.weight_codes.copy()
    w[0, 0] = stage.weight_t.min_code if w[0, 0] != stage.weight_t.min_code else stage.weight_t.max_code
    spec.with_weights("d1", w, stage.bias_codes).save(path)
    with pytest.raises(UsageError) as err:
        compare_project(path, trace=True)
    assert "is not this project's (spec.json + weights.npz give" in one_line(err)


@pytest.mark.parametrize("edit, error, message", [
    # a type of the arithmetic changed: the firmware no longer computes the spec
    (lambda fw: _sub(fw / "defines.h", r"typedef ap_fixed<(\d+),(\d+)> d1_weight_t;",
                     lambda m: f"typedef ap_fixed<{int(m[1]) + 1},{m[2]}> d1_weight_t;"),
     VerificationError, "defines.h: d1_weight_t (d1's weight_t) is ap_fixed<"),
    (lambda fw: _sub(fw / "parameters.h", r"typedef d1_accum_t accum_t;", lambda m: "typedef d1_bias_t accum_t;"),
     VerificationError, "d1's accum_t"),
    # any other generated source: the seal
    (lambda fw: (fw / "nnet_utils" / "nnet_dense.h").write_text((fw / "nnet_utils" / "nnet_dense.h").read_text()
                                                                 + "\n// edited\n"),
     UsageError, "nnet_utils/nnet_dense.h: changed since the build"),
    (lambda fw: (fw / "ap_fixed.h").write_text("#error shadowed\n"), UsageError,
     "firmware/ap_fixed.h: not written by the build"),
    (lambda fw: (fw.parent / "tiny_test.cpp").write_text("int main() { return 0; }\n"), UsageError,
     "tiny_test.cpp: changed since the build"),
    (lambda fw: (fw.parent / "Makefile").unlink(), UsageError, "Makefile: missing"),
])
def test_firmware_types_and_sealed_sources(project, edit, error, message):
    path, _, _ = project
    edit(path / "firmware")
    with pytest.raises(error) as err:
        compare_project(path)
    assert message in one_line(err)


def _sub(path, pattern, repl):
    text, count = re.subn(pattern, repl, path.read_text())
    assert count == 1, (pattern, path)
    path.write_text(text)


def test_forged_expected_with_its_manifest_entry_is_refused(project):
    path, _, expected = project
    forged = expected.copy()
    forged[2, 1] = forged[2, 1] + 1 if forged[2, 1] < 127 else forged[2, 1] - 1
    (path / "tb_data" / "expected.txt").write_text("".join(" ".join(map(str, r)) + "\n" for r in forged))
    reseal(path, "tb_data/expected.txt")
    with pytest.raises(UsageError) as err:
        check_project(path)
    assert "expected.txt: line 3: not the golden model's output for this spec (1 of 6 lines differ" in one_line(err)


@pytest.mark.parametrize("kind", ["fifo", "zero", "dir"])
def test_evidence_files_are_read_with_a_bound(project, kind):
    """Audit 8: expected.txt as a FIFO hung compare; a symbolic link to /dev/zero read until the OOM kill."""
    path, _, _ = project
    target = path / "tb_data" / "expected.txt"
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "zero":
        target.symlink_to("/dev/zero")
    else:
        target.mkdir()
    with pytest.raises(UsageError) as err:
        compare_project(path)
    assert "expected.txt" in one_line(err)


def test_a_large_file_is_not_read_whole(project):
    path, _, _ = project
    with open(path / "tb_data" / "expected.txt", "ab") as fh:
        fh.truncate(2**31)  # sparse: 2 GB of zeros that a plain read would load
    with pytest.raises(UsageError, match="is larger than") as err:
        compare_project(path)
    one_line(err)


SPEC_EDITS = [
    (lambda d: d["stages"][0].update(output_shape=[1000000000]), "holds 1000000000 values per image"),
    (lambda d: d["stages"][0].update(output_shape=[7, 6, 3]), "output_shape [7, 6, 3], but a conv2d stage"),
    (lambda d: d["stages"][1].update(input_shape=[5, 5, 3]), "is not the previous output"),
    (lambda d: d.update(input_shape=[0, 8, 2]), "input_shape: [0, 8, 2] is not 1 to 3 positive whole numbers"),
]


@pytest.mark.parametrize("edit, message", SPEC_EDITS, ids=[m[:30] for _, m in SPEC_EDITS])
def test_inconsistent_spec_json_is_refused_on_load(project, edit, message):
    """Audit 9: output_shape [1000000000] in spec.json ran prove for 23 s, then a broadcast error."""
    path, _, _ = project
    doc = json.loads((path / "spec.json").read_text())
    edit(doc)
    (path / "spec.json").write_text(json.dumps(doc))
    with pytest.raises(HlsgenError) as err:
        HardwareSpec.load(path)
    assert message in one_line(err)


def test_weight_codes_outside_their_type_are_refused(project, capsys):
    """Audit (poor): prove accepted weight codes of -29000 in an ap_fixed<8,1> layer."""
    path, spec, _ = project
    stage = spec.stage("d1")
    w = stage.weight_codes.copy()
    w[1, 2] = -29000
    spec.with_weights("d1", w, stage.bias_codes).save(path)
    assert cli.main(["prove", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "d1.weight: code -29000 at (1, 2) is outside" in err, err


def test_forged_weights_npz_headers_are_bounded(project):
    """A .npy header may declare any shape: it is read and bounded before any data."""
    import zipfile

    path, _, _ = project
    with zipfile.ZipFile(path / "weights.npz", "w") as zf:
        text = b"{'descr': '<i8', 'fortran_order': False, 'shape': (4611686018427387904,), }"
        text += b" " * (118 - len(text)) + b"\n"
        zf.writestr("d1.weight.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text)
    with pytest.raises(HlsgenError, match="not the int64 codes of at most 2\\^24 weights") as err:
        HardwareSpec.load(path)
    one_line(err)
