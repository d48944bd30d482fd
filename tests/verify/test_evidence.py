"""compare_project trusts only intact evidence: tb_data exactly as the build wrote it (tb_data/manifest.json:
image count, codes per line, SHA-256) and one complete output of this build's testbench, of the run being
judged. Every other case is a one-line UsageError (exit 2) naming the file and line; a mismatch is a
VerificationError (exit 1). A synthetic project: no compiler needed."""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pytest
from specs import emit_test_project, random_spec, small_config

from hlsgen import golden
from hlsgen.errors import UsageError, VerificationError
from hlsgen.verify.compare import compare_project
from hlsgen.verify.evidence import NoOutputError, build_id, parse_codes

IMAGES = 5


def output_text(build: str, rows: np.ndarray, run: str = "r1", of: int = IMAGES, mismatches: int = 0) -> str:
    """csim_output.txt as the testbench writes it."""
    body = "".join(" ".join(map(str, row)) + "\n" for row in rows)
    return (f"# hlsgen csim run={run} build={build} images={len(rows)} of={of}\n{body}"
            f"# end images={len(rows)} mismatches={mismatches}\n")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A generated project of small_config (random codes, 5 images, labels, QKeras labels, sealed manifest)."""
    spec = random_spec(small_config(), seed=4)
    inputs = np.random.default_rng(1).integers(0, 256, (IMAGES, *spec.input_shape))
    expected = golden.run(spec, inputs).output.reshape(IMAGES, -1)
    path = emit_test_project(tmp_path_factory.mktemp("evidence") / "prj", spec, inputs, np.arange(IMAGES) % 5,
                             np.argmax(expected, axis=1))
    return path, build_id(spec), expected


@pytest.fixture()
def project(template, tmp_path):
    """A copy of the template with a complete, matching csim output."""
    source, build, expected = template
    path = tmp_path / "prj"
    shutil.copytree(source, path)
    (path / "tb_data" / "csim_output.txt").write_text(output_text(build, expected))
    return path, build, expected


def lines_of(path):
    return path.read_text().splitlines(keepends=True)


def edit_line(path, number, fn):
    lines = lines_of(path)
    lines[number - 1] = fn(lines[number - 1])
    path.write_text("".join(lines))


def test_intact_project_compares(project):
    path, _, _ = project
    summary = compare_project(path)
    assert (summary["images"], summary["bit_exact"], summary["run_id"]) == (IMAGES, IMAGES, "r1")


def test_a_run_of_the_first_n_images_compares_n(project):
    path, build, expected = project
    (path / "tb_data" / "csim_output.txt").write_text(output_text(build, expected[:3], run="r2"))
    assert compare_project(path, run_id="r2")["images"] == 3


N_IN = 144  # small_config's input: 9 x 8 x 2
TB_EDITS = [
    ("inputs.txt", lambda p: p.write_text("".join(lines_of(p)[:3])),
     "inputs.txt: line 4: missing: the file has 3 lines, the project has 5 test images"),
    ("inputs.txt", lambda p: p.write_text(p.read_text() + p.read_text().splitlines()[0] + "\n"),
     "inputs.txt: line 6: extra line: the project has 5 test images"),
    ("inputs.txt", lambda p: p.write_text(p.read_text() + "\n"), "inputs.txt: line 6: extra line"),
    ("inputs.txt", lambda p: edit_line(p, 2, lambda s: "abc " + s.split(" ", 1)[1]),
     "inputs.txt: line 2: 'abc' is not an integer code"),
    ("inputs.txt", lambda p: edit_line(p, 3, lambda s: "1.5 " + s.split(" ", 1)[1]),
     "inputs.txt: line 3: '1.5' is not an integer code"),
    ("inputs.txt", lambda p: edit_line(p, 3, lambda s: s.replace(" ", "\r ", 1)),
     "inputs.txt: line 3: "),
    ("inputs.txt", lambda p: edit_line(p, 5, lambda s: "999 " + s.split(" ", 1)[1]),
     "inputs.txt: line 5: code 999 outside ap_ufixed<8,0> [0, 255]"),
    ("inputs.txt", lambda p: edit_line(p, 1, lambda s: "-1 " + s.split(" ", 1)[1]),
     "inputs.txt: line 1: code -1 outside ap_ufixed<8,0> [0, 255]"),
    ("inputs.txt", lambda p: edit_line(p, 2, lambda s: s.rstrip("\n") + " 7\n"),
     f"inputs.txt: line 2: {N_IN + 1} codes, expected {N_IN}"),
    ("inputs.txt", lambda p: edit_line(p, 2, lambda s: s.rstrip("\n") + " x\n"),
     "inputs.txt: line 2: 'x' is not an integer code"),
    ("inputs.txt", lambda p: edit_line(p, 4, lambda s: "\n"), f"inputs.txt: line 4: 0 codes, expected {N_IN}"),
    ("inputs.txt", lambda p: edit_line(p, 4, lambda s: "99999999999999999999999 " + s.split(" ", 1)[1]),
     "inputs.txt: line 4: '99999999999999999999...' is not an integer code"),
    ("inputs.txt", lambda p: edit_line(p, 1, lambda s: str(int(s.split(" ", 1)[0]) ^ 1) + " " + s.split(" ", 1)[1]),
     "inputs.txt: changed since the build"),
    ("inputs.txt", lambda p: p.unlink(), "inputs.txt: cannot read"),
    ("expected.txt", lambda p: p.write_text("".join(lines_of(p)[:4])),
     "expected.txt: line 5: missing: the file has 4 lines, the project has 5 test images"),
    ("expected.txt", lambda p: edit_line(p, 2, lambda s: "0x1 " + s.split(" ", 1)[1]),
     "expected.txt: line 2: '0x1' is not an integer code"),
    ("expected.txt", lambda p: edit_line(p, 2, lambda s: str(int(s.split(" ", 1)[0]) + 1) + " " + s.split(" ", 1)[1]),
     "expected.txt: changed since the build"),
    ("labels.txt", lambda p: p.unlink(), "labels.txt: cannot read"),
    ("labels.txt", lambda p: p.write_text("".join(lines_of(p)[:2])), "labels.txt: line 3: missing"),
    ("labels.txt", lambda p: edit_line(p, 2, lambda s: "seven\n"), "labels.txt: line 2: 'seven' is not an integer"),
    ("labels.txt", lambda p: edit_line(p, 2, lambda s: "1 2\n"), "labels.txt: line 2: 2 codes, expected 1"),
    ("labels.txt", lambda p: edit_line(p, 2, lambda s: "-1\n"), "labels.txt: line 2: code -1 outside [0, ...]"),
    ("qkeras_labels.txt", lambda p: p.write_text(p.read_text() + "3\n"), "qkeras_labels.txt: line 6: extra line"),
    ("manifest.json", lambda p: p.unlink(), "manifest.json: missing"),
    ("manifest.json", lambda p: p.write_text("{"), "manifest.json: unreadable"),
    ("manifest.json", lambda p: p.write_text(p.read_text().replace('"images": 5', '"images": -5')),
     "manifest.json: unreadable"),
    ("manifest.json", lambda p: p.write_text(p.read_text().replace('"images": 5', '"images": 6')),
     "inputs.txt: line 6: missing: the file has 5 lines, the project has 6 test images"),
]


@pytest.mark.parametrize("name, edit, message", TB_EDITS, ids=[f"{e[0]}:{e[2][:40]}" for e in TB_EDITS])
def test_bad_tb_data_is_a_one_line_usage_error_naming_file_and_line(project, name, edit, message):
    path, _, _ = project
    edit(path / "tb_data" / name)
    with pytest.raises(UsageError, match=re.escape(message)) as err:
        compare_project(path)
    assert "\n" not in str(err.value) and len(str(err.value)) < 300


def replace_output(text_fn):
    def edit(path, build, expected):
        out = path / "tb_data" / "csim_output.txt"
        out.write_text(text_fn(out.read_text(), build, expected))
    return edit


OUTPUT_EDITS = [
    # a killed run: no end marker
    (replace_output(lambda t, b, e: "".join(t.splitlines(keepends=True)[:-1])), None, "incomplete: no end marker"),
    (replace_output(lambda t, b, e: "".join(t.splitlines(keepends=True)[:3])), None,
     "incomplete: no end marker after 2 of 5 images"),
    # longer than expected.txt: six lines of codes for a run of five images
    (replace_output(lambda t, b, e: output_text(b, e).replace("# end", " ".join(map(str, e[0])) + "\n# end")),
     None, "csim_output.txt: line 8: 6 lines of output codes, the run was of 5 images"),
    (replace_output(lambda t, b, e: output_text(b, np.vstack([e, e[:1]]), of=IMAGES + 1)), None,
     "a run of 6 of 6 images, but the project has 5 test images"),
    (replace_output(lambda t, b, e: output_text(b, e[:0])), None, "a run of 0 of 5 images"),
    (replace_output(lambda t, b, e: t + "1 2 3\n"), None, "csim_output.txt: line 8: extra line after the end marker"),
    (replace_output(lambda t, b, e: "".join(t.splitlines(keepends=True)[1:])), None, "line 1: no run header"),
    (replace_output(lambda t, b, e: output_text("0123456789abcdef", e)), None, "from another build of the project"),
    (replace_output(lambda t, b, e: t), "r2", "from an earlier run (r1), not this one (r2)"),
    (replace_output(lambda t, b, e: t.replace("mismatches=0", "mismatches=x")), None, "expected '# end images=5"),
    (replace_output(lambda t, b, e: t.replace("\n", "\n- ", 1)), None, "csim_output.txt: line 2: '-' is not an"),
    (lambda p, b, e: (p / "tb_data" / "csim_output.txt").unlink(), None, "no C simulation output"),
]


@pytest.mark.parametrize("edit, run_id, message", OUTPUT_EDITS, ids=[e[2][:40] for e in OUTPUT_EDITS])
def test_partial_stale_or_foreign_output_is_refused(project, edit, run_id, message):
    path, build, expected = project
    edit(path, build, expected)
    with pytest.raises(UsageError, match=re.escape(message)) as err:
        compare_project(path, run_id=run_id)
    assert "\n" not in str(err.value)


def test_no_output_is_its_own_error(project):
    path, _, _ = project
    (path / "tb_data" / "csim_output.txt").unlink()
    with pytest.raises(NoOutputError):
        compare_project(path)


def test_a_mismatch_is_a_verification_error(project):
    path, build, expected = project
    got = expected.copy()
    got[3, 1] += 1
    (path / "tb_data" / "csim_output.txt").write_text(output_text(build, got, mismatches=1))
    with pytest.raises(VerificationError, match=re.escape(f"1 of 5 images differ from the golden model, first: "
                                                          f"image 3 output 1 expected {expected[3, 1]}")):
        compare_project(path)


def test_testbench_mismatch_count_must_agree(project):
    path, build, expected = project
    (path / "tb_data" / "csim_output.txt").write_text(output_text(build, expected, mismatches=2))
    with pytest.raises(VerificationError, match="the testbench counted 2 mismatching images"):
        compare_project(path)


def test_vitis_output_gets_the_same_checks(project):
    """Vitis HLS csim writes into tiny_prj/solution1/csim/build/tb_data: the newest output is judged."""
    path, build, expected = project
    vitis = path / "tiny_prj" / "solution1" / "csim" / "build" / "tb_data"
    vitis.mkdir(parents=True)
    out = vitis / "csim_output.txt"
    out.write_text(output_text(build, expected, run="vitis"))
    older = os.stat(path / "tb_data" / "csim_output.txt").st_mtime - 10
    os.utime(path / "tb_data" / "csim_output.txt", (older, older))
    assert compare_project(path, run_id="vitis")["run_id"] == "vitis"
    out.write_text("".join(lines_of(out)[:-1]))  # killed
    with pytest.raises(UsageError, match=re.escape(f"{out}: incomplete")):
        compare_project(path)


@pytest.mark.parametrize("data, rows, message", [
    (b"1 2\n3 4\n", 2, None),
    (b"1 2\n3 4", 2, None),  # the final newline is optional
    (b"1\t2\n +3  -4 \n", 2, None),  # spaces and tabs separate; signs are allowed
    (b"1 2\n\n", 1, "line 2: extra line"),
    (b"1 2\r\n3 4\r\n", 2, "line 1: '2\\x0d' is not an integer code"),
    (b"1 2\x0b3\n", 1, "line 1: '2\\x0b3' is not an integer code"),
    (b"1 2 3\n", 1, "line 1: 3 codes, expected 2"),
    (b"1 + \n", 1, "line 1: '+' is not an integer code"),
    (b"", 1, "line 1: missing: the file has 0 lines"),
])
def test_parse_codes_is_as_strict_as_the_testbench(data, rows, message):
    if message is None:
        assert parse_codes("f", data, rows, 2).shape == (rows, 2)
    else:
        with pytest.raises(UsageError, match=re.escape(message)):
            parse_codes("f", data, rows, 2)
