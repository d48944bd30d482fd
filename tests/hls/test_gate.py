"""The verification gate cannot be fooled (issue 12): a mutation check on a real project.

One small project is built and simulated once; each test copies it and breaks one thing: truncated
inputs or expected outputs, a non-integer or out-of-range value, a stale output after a failed compile,
one flipped weight, one flipped expected code. `make csim` must then exit nonzero, and `hlsgen csim`
exit 1 (mismatch) or 2 (bad project files), naming the cause. Also: the exit codes of `hlsgen csim`
(-n, no compiler) and runs of the first N images.

Slow: trains 1 epoch on 2,000 images, simulates 20 test images.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from specs import build_small_project, flip_observable_weight

ROOT = Path(__file__).resolve().parents[2]
IMAGES = 20
GXX = {"HLS_TOOL": "gxx"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("g++") is None or shutil.which("make") is None, reason="needs g++ and make"),
]


def hlsgen(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hlsgen.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env={**os.environ, **GXX, **(env or {})})


def make(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(project), "csim", *args], capture_output=True,
                          text=True, timeout=900, env={**os.environ, **GXX, **(env or {})})


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A 20-image io_stream project, compiled and simulated once (build/csim and a csim_output.txt exist)."""
    work = tmp_path_factory.mktemp("gate")
    build_small_project(work, IMAGES, n_test=100)
    res = make(work / "prj")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert f"csim: {IMAGES}/{IMAGES} images bit-exact" in res.stdout
    return work / "prj"


def copy(built: Path, tmp_path: Path, name: str = "prj") -> Path:
    """A copy with its timestamps, so the compiled testbench stays up to date."""
    project = tmp_path / name
    shutil.copytree(built, project)
    return project


def edit_line(path: Path, number: int, fn) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[number - 1] = fn(lines[number - 1])
    path.write_text("".join(lines))


def first_token(value: str):
    return lambda line: value + " " + line.split(" ", 1)[1]


def keep_lines(name: str, count: int):
    def mutate(project: Path) -> None:
        path = project / "tb_data" / name
        path.write_text("".join(path.read_text().splitlines(keepends=True)[:count]))
    return mutate


def flip_weight(project: Path) -> None:
    """One LSB of an fc2 weight whose change shows in an output, in the file C simulation reads."""
    flip_observable_weight(project, "fc2", IMAGES)


def flip_expected(project: Path) -> None:
    edit_line(project / "tb_data" / "expected.txt", 3, lambda line: str(int(line.split(" ", 1)[0]) ^ 1) + " "
              + line.split(" ", 1)[1])


def break_firmware(project: Path) -> None:
    """g++ fails; the previous run's complete, matching csim_output.txt is still there."""
    assert (project / "tb_data" / "csim_output.txt").exists()
    with open(project / "firmware" / "mnist_cnn.cpp", "a") as fh:
        fh.write("\nthis is not C++;\n")


MISSING = f"the file has 10 lines, the project has {IMAGES} test images"
MUTATIONS = {
    # name: (mutate, exit code of hlsgen csim, the cause named by both make csim and hlsgen csim)
    "truncated_inputs": (keep_lines("inputs.txt", 10), 2, f"tb_data/inputs.txt: line 11: missing: {MISSING}"),
    "truncated_expected": (keep_lines("expected.txt", 10), 2, f"tb_data/expected.txt: line 11: missing: {MISSING}"),
    "non_integer_value": (lambda p: edit_line(p / "tb_data" / "inputs.txt", 7, first_token("abc")), 2,
                          "tb_data/inputs.txt: line 7: 'abc' is not an integer code"),
    "input_code_out_of_range": (lambda p: edit_line(p / "tb_data" / "inputs.txt", 7, first_token("999")), 2,
                                "tb_data/inputs.txt: line 7: code 999 outside ap_ufixed<8,0> [0, 255]"),
    "stale_output_after_failed_compile": (break_firmware, 2, "wrote no output"),
    "flipped_weight": (flip_weight, 1, "values differ from the spec's fc2 weight codes"),
    "flipped_expected_code": (flip_expected, 2, "tb_data/expected.txt: changed since the build"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_mutation_fails_make_csim_and_hlsgen_csim(built, tmp_path, name):
    mutate, code, cause = MUTATIONS[name]
    project = copy(built, tmp_path, "make")
    mutate(project)
    res = make(project)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert cause in out, out[-3000:]
    assert "bit-exact with the golden model" not in out or "differ" in out, out[-3000:]  # no stale success
    assert not (project / "tb_data" / "compare.json").exists() or code == 1

    project = copy(built, tmp_path, "cli")
    mutate(project)
    res = hlsgen("csim", str(project), cwd=tmp_path)
    assert res.returncode == code, res.stdout[-3000:] + res.stderr[-3000:]
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("hlsgen: error: ") and "Traceback" not in res.stderr, res.stderr[-3000:]
    if name == "stale_output_after_failed_compile":  # hlsgen csim checks the sources before it compiles
        assert "firmware/mnist_cnn.cpp: changed since the build" in last, last
        assert "bit-exact" not in res.stdout, res.stdout[-3000:]
    else:
        assert cause in last, last


def test_hlsgen_csim_and_compare_pass_on_the_intact_project(built, tmp_path):
    project = copy(built, tmp_path)
    res = hlsgen("csim", str(project), cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert f"csim: {IMAGES}/{IMAGES} images bit-exact" in res.stdout
    assert res.stdout.count(f"compare: {IMAGES}/{IMAGES} images bit-exact") == 1  # compared once, in-process
    res = hlsgen("compare", str(project), cwd=tmp_path)
    assert res.returncode == 0 and f"compare: {IMAGES}/{IMAGES} images bit-exact" in res.stdout, res.stderr


def test_a_run_of_n_images_is_checked_as_n(built, tmp_path):
    project = copy(built, tmp_path)
    res = hlsgen("csim", str(project), "-n", "5", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "csim: 5/5 images bit-exact" in res.stdout and "compare: 5/5 images bit-exact" in res.stdout
    res = make(project, "N=7")
    assert res.returncode == 0 and "csim: 7/7 images bit-exact" in res.stdout, res.stdout + res.stderr
    # an N run still needs whole files: the rest of inputs.txt may not be missing
    keep_lines("inputs.txt", 10)(project)
    res = make(project, "N=5")
    assert res.returncode != 0 and f"tb_data/inputs.txt: line 11: missing: {MISSING}" in res.stderr, res.stderr


@pytest.mark.parametrize("n", ["-3", "0", str(IMAGES + 1), "x"])
def test_hlsgen_csim_bad_image_count_is_a_usage_error(built, tmp_path, n):
    res = hlsgen("csim", str(built), "-n", n, cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert len(res.stderr.strip().splitlines()) <= 2 and "Traceback" not in res.stderr  # argparse: usage + error
    assert "csim:" not in res.stdout  # refused before any simulation


@pytest.mark.parametrize("n", ["-3", str(IMAGES + 1), "5x"])
def test_make_csim_bad_image_count_fails(built, tmp_path, n):
    res = make(copy(built, tmp_path), f"N={n}")
    assert res.returncode != 0
    assert f"N={n}: expected a number of images from 1 to {IMAGES} (0 or nothing: all)" in res.stderr, res.stderr


@pytest.mark.parametrize("target,assignment", [
    ("csim", "N=1; touch {pwned}"), ("csim", "N=$(shell touch {pwned})"), ("csim", "N=1 `touch {pwned}`"),
    ("csim", "RUN_ID=x'; touch {pwned}; '"), ("csim", "TRACE=1;touch {pwned}"), ("cosim", "N=1|touch {pwned}"),
    ("rtl", "JOBS=2;touch {pwned}"), ("rtl", "LAYERS=$$(touch {pwned})"), ("csim", "HLSGEN=/x'; touch {pwned}; '"),
    ("csim", 'HLSGEN=/bin/sh -c "touch {pwned}"'), ("csim", "HLSGEN=$(shell touch {pwned})"),
])
def test_make_variables_never_reach_the_shell(built, tmp_path, target, assignment):
    pwned = tmp_path / "PWNED"
    res = subprocess.run(["make", "--no-print-directory", "-C", str(copy(built, tmp_path)), target,
                          assignment.format(pwned=pwned)], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and not pwned.exists(), res.stdout + res.stderr
    assert re.search(r"make: (N|RUN_ID|TRACE|JOBS|LAYERS): only one word of the characters|HLSGEN: a path of the "
                     r"characters A-Z a-z 0-9 . _ \+ - / is required", res.stderr), res.stderr


def test_hlsgen_csim_without_a_compiler_exits_3(built, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("make", "rm", "mkdir", "date"):  # what the Makefile needs besides the compiler
        (bindir / tool).symlink_to(shutil.which(tool))
    project = copy(built, tmp_path)
    (project / "build" / "csim").unlink()
    res = hlsgen("csim", str(project), cwd=tmp_path, env={"PATH": str(bindir)})
    assert res.returncode == 3, res.stdout + res.stderr
    assert res.stderr.strip() == ("hlsgen: error: g++ not found on PATH; it is needed for the C simulation "
                                  "(or Vitis HLS: vitis_hls or vitis-run)")
    res = make(project, env={"PATH": str(bindir)})
    assert res.returncode != 0 and "make csim: error: g++ not found on PATH" in res.stderr, res.stderr
    assert "wrote no output" in res.stderr


FAKE_VITIS_CSIM = """#!/bin/sh
# csim_design as Vitis HLS runs it: the testbench in <top>_prj/solution1/csim/build with a copy of tb_data
[ -n "$FAKE_FAIL" ] && { echo "ERROR: [SIM 211-100] CSim failed with errors." >&2; exit 1; }
d=mnist_cnn_prj/solution1/csim/build
mkdir -p $d/firmware && rm -rf $d/tb_data && cp -r tb_data $d/ && cp -r firmware/weights $d/firmware/
cp build/csim $d/csim.exe && cd $d && exec ./csim.exe
"""


def test_vitis_csim_output_gets_the_same_checks(built, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "vitis_hls").write_text(FAKE_VITIS_CSIM)
    (bindir / "vitis_hls").chmod(0o755)
    env = {"PATH": f"{bindir}:{os.environ['PATH']}", "HLS_TOOL": "auto"}
    project = copy(built, tmp_path)
    (project / "tb_data" / "csim_output.txt").unlink()
    res = make(project, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "running Vitis HLS" in res.stdout and f"compare: {IMAGES}/{IMAGES} images bit-exact" in res.stdout
    vitis_output = project / "mnist_cnn_prj/solution1/csim/build/tb_data/csim_output.txt"
    assert vitis_output.exists()
    # the next run fails before simulating: the previous run's output is not evidence
    res = make(project, env={**env, "FAKE_FAIL": "1"})
    assert res.returncode != 0 and "wrote no output" in res.stderr, res.stdout[-3000:] + res.stderr[-3000:]
    assert "bit-exact" not in res.stdout and not vitis_output.exists()
    res = hlsgen("csim", str(project), cwd=tmp_path, env={**env, "FAKE_FAIL": "1"})
    assert res.returncode == 2 and "before the simulation wrote any output" in res.stderr, res.stderr[-3000:]
    res = hlsgen("csim", str(project), cwd=tmp_path, env=env)
    assert res.returncode == 0 and f"compare: {IMAGES}/{IMAGES} images bit-exact" in res.stdout, res.stderr


# ---------------------------------------------------------------- issue 26: evidence derived, not trusted

def run_both(project: Path, tmp_path: Path, *make_args: str):
    return make(project, *make_args), hlsgen("csim", str(project), cwd=tmp_path)


def fc2_weights(project: Path) -> str:
    """The name of fc2's weight array in the top function (``w10`` from Keras 2's hls4ml parser, ``w8`` from its
    Keras 3 one: each numbers the layers its own way)."""
    top = next(p for p in (project / "firmware").glob("*.cpp") if not p.stem.endswith("_axi"))
    return re.search(r"nnet::dense<[^>]*>\(\w+, \w+, (w\d+), b\d+\); // fc2$", top.read_text(), re.M)[1]


def test_edited_firmware_with_forged_expected_and_manifest_fails(built, tmp_path):
    """Audit 3: a third of fc2's weights (w10.txt) zeroed, the simulation's output copied into expected.txt and the
    manifest's SHA-256 recomputed: make csim and hlsgen csim said bit-exact, TRACE=1 too."""
    import hashlib
    import json

    project = copy(built, tmp_path)
    w = fc2_weights(project)
    weights = project / "firmware" / "weights" / f"{w}.txt"
    values = weights.read_text().split(",")
    weights.write_text(",".join("0.0000000" if k % 3 == 0 else v for k, v in enumerate(values)))
    res = make(project, "HLSGEN_COMPARE=0")  # the testbench alone: expected.txt no longer matches
    assert res.returncode != 0
    produced = [line for line in (project / "tb_data" / "csim_output.txt").read_text().splitlines()
                if not line.startswith("#")]
    (project / "tb_data" / "expected.txt").write_text("\n".join(produced) + "\n")
    manifest = json.loads((project / "tb_data" / "manifest.json").read_text())
    manifest["sha256"]["expected.txt"] = hashlib.sha256((project / "tb_data" / "expected.txt").read_bytes()).hexdigest()
    manifest["sources"][f"firmware/weights/{w}.txt"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (project / "tb_data" / "manifest.json").write_text(json.dumps(manifest))
    assert make(project, "HLSGEN_COMPARE=0").returncode == 0  # the forgery fools the testbench alone
    for extra in ((), ("TRACE=1",)):
        res = make(project, *extra)
        assert res.returncode != 0 and f"firmware/weights/{w}.txt: " in res.stderr, res.stdout + res.stderr
        assert "values differ from the spec's fc2 weight codes" in res.stderr
    res = hlsgen("csim", str(project), cwd=tmp_path)
    assert res.returncode == 1 and f"{w}.txt: " in res.stderr.strip().splitlines()[-1], res.stderr
    res = hlsgen("csim", str(project), "--trace", cwd=tmp_path)
    assert res.returncode == 1 and "csim:" not in res.stdout, res.stdout  # refused before any simulation


def test_edited_synthesis_weights_fail(built, tmp_path):
    """Audit 4: one value of fc2's w10.h (the initialiser synthesis compiles) edited: csim read the .txt and
    passed."""
    project = copy(built, tmp_path)
    w = fc2_weights(project)
    header = project / "firmware" / "weights" / f"{w}.h"
    text = header.read_text()
    at = text.index("= {") + 3
    end = text.index(",", at)
    header.write_text(text[:at] + ("0.5" if float(text[at:end]) != 0.5 else "0.25") + text[end:])
    res_make, res_cli = run_both(project, tmp_path)
    assert res_make.returncode != 0 and f"{w}.h: 1 of 1280 values differ" in res_make.stderr, res_make.stderr
    assert res_cli.returncode == 1 and f"{w}.h: 1 of 1280 values differ" in res_cli.stderr, res_cli.stderr


def test_a_back_dated_source_edit_is_compiled_and_refused(built, tmp_path):
    """Audit 6: firmware/defines.h changed and back-dated (touch -d 2020-01-01): the old build/csim was reused
    and passed. The binary is keyed by the SHA-256 of its sources; the source no longer matches the seal."""
    project = copy(built, tmp_path)
    defines = project / "firmware" / "defines.h"
    defines.write_text(defines.read_text().replace("#endif", "#define HLSGEN_EDITED 1\n#endif"))
    os.utime(defines, (1577836800, 1577836800))
    res = make(project)
    assert res.returncode != 0, res.stdout
    assert "up to date" not in res.stdout and "-o build/csim" in res.stdout  # compiled again
    assert "firmware/defines.h: changed since the build" in res.stderr, res.stderr
    res = hlsgen("csim", str(project), cwd=tmp_path)
    assert res.returncode == 2 and "firmware/defines.h: changed since the build" in res.stderr, res.stderr
    assert "csim:" not in res.stdout  # refused before any simulation


def test_a_binary_replaced_by_a_replay_script_is_not_run(built, tmp_path):
    """Audit 6: a script in place of build/csim that replays expected.txt: exit 0. It is compiled over."""
    project = copy(built, tmp_path)
    marker = tmp_path / "REPLAYED"
    script = project / "build" / "csim"
    script.unlink()
    script.write_text(f"#!/bin/sh\ntouch {marker}\n(echo '# hlsgen csim run=x build=x images=20 of=20'; "
                      "cat tb_data/expected.txt; echo '# end images=20 mismatches=0') > tb_data/csim_output.txt\n")
    script.chmod(0o755)
    res = make(project)
    assert res.returncode == 0 and not marker.exists(), res.stdout + res.stderr
    assert "-o build/csim" in res.stdout and f"csim: {IMAGES}/{IMAGES} images bit-exact" in res.stdout
    res = make(project)
    assert res.returncode == 0 and "build/csim is up to date (same sources and compile command" in res.stdout


def test_make_csim_without_hlsgen_fails(built, tmp_path):
    """Audit (poor): make csim with an hlsgen that does not run skipped the comparison and exited 0."""
    project = copy(built, tmp_path)
    res = make(project, "HLSGEN=/nonexistent/hlsgen")
    assert res.returncode != 0, res.stdout
    assert "csim: error: hlsgen not found at /nonexistent/hlsgen" in res.stderr and "nothing is verified" in res.stderr
    res = make(project, "HLSGEN=/nonexistent/hlsgen", "HLSGEN_COMPARE=0")  # skipped on purpose: the testbench
    assert res.returncode == 0 and f"csim: {IMAGES}/{IMAGES} images bit-exact" in res.stdout, res.stderr
