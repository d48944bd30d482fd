"""The CLI side of the gate (issue 12), in-process: `hlsgen compare` on bad project files is one line and
exit 2 (a mismatch exit 1); `hlsgen csim -n` must be a positive count no larger than the project's; an
interrupt is always `hlsgen: interrupted`, exit 130, even when TensorFlow wrapped the KeyboardInterrupt."""

from __future__ import annotations

import pytest
from test_evidence import output_text, project, template  # noqa: F401  (the generated project fixtures)

from hlsgen import cli
from hlsgen.cli import configs  # each command lives with its registration (hlsgen/cli/configs.py)
from hlsgen.errors import ConfigError


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("edit, message", [
    (lambda tb: (tb / "labels.txt").unlink(), "labels.txt: cannot read"),
    (lambda tb: (tb / "labels.txt").write_text("1\n2\n"), "labels.txt: line 3: missing: the file has 2 lines"),
    (lambda tb: (tb / "labels.txt").write_text("1\nx\n3\n4\n5\n"), "labels.txt: line 2: 'x' is not an integer code"),
    (lambda tb: (tb / "csim_output.txt").write_text(
        (tb / "csim_output.txt").read_text().replace("# end", "1 2 3 4 5\n# end")),
     "csim_output.txt: line 8: 6 lines of output codes, the run was of 5 images"),
])
def test_compare_bad_files_exit_2_in_one_line(project, capsys, edit, message):  # noqa: F811
    path, _, _ = project
    edit(path / "tb_data")
    code, out, err = run(capsys, "compare", str(path))
    assert code == 2, err
    assert err.startswith("hlsgen: error: ") and err.count("\n") == 1 and message in err, err


def test_compare_mismatch_exits_1(project, capsys):  # noqa: F811
    path, build, expected = project
    got = expected.copy()
    got[0, 0] += 1
    (path / "tb_data" / "csim_output.txt").write_text(output_text(build, got, mismatches=1))
    code, out, err = run(capsys, "compare", str(path))
    assert code == 1 and "1 of 5 images differ from the golden model" in err, err
    assert "compare: 4/5 images bit-exact" in out


def test_compare_checks_the_run_id(project, capsys):  # noqa: F811
    path, _, _ = project
    assert run(capsys, "compare", str(path), "--run-id", "r1")[0] == 0
    code, _, err = run(capsys, "compare", str(path), "--run-id", "r9")
    assert code == 2 and "from an earlier run (r1), not this one (r9)" in err, err


@pytest.mark.parametrize("n, message", [("-3", "-n/--images: must be >= 1, got -3"),
                                        ("0", "-n/--images: must be >= 1, got 0"),
                                        ("6", "-n/--images: 6, but")])
def test_csim_image_count_is_checked_before_make(project, capsys, n, message):  # noqa: F811
    path, _, _ = project
    (path / "Makefile").write_text("csim:\n\t@echo ran; exit 0\n")  # must not run
    code, out, err = run(capsys, "csim", str(path), "-n", n)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert "ran" not in out


def _raise(exc: BaseException):
    def func(args):
        raise exc
    return func


def _chained(outer: BaseException, cause: BaseException, explicit: bool) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            if explicit:
                raise outer from inner
            raise outer  # noqa: B904  (implicit context, as C extensions set it)
    except BaseException as err:
        return err


@pytest.mark.parametrize("exc", [
    KeyboardInterrupt(),
    _chained(SystemError("<built-in function TFE_Py_FastPathExecute> returned a result with an exception set"),
             KeyboardInterrupt(), explicit=False),
    _chained(SystemError("error return without exception set"), KeyboardInterrupt(), explicit=True),
    _chained(ImportError("tensorflow"), _chained(RuntimeError("x"), KeyboardInterrupt(), False), False),
    _chained(ConfigError("train: stopped"), KeyboardInterrupt(), explicit=True),
], ids=["plain", "tf-systemerror-context", "systemerror-cause", "nested", "hlsgen-error"])
def test_interrupt_is_always_exit_130(monkeypatch, capsys, exc):
    monkeypatch.setattr(configs, "_cmd_check", _raise(exc))
    code, out, err = run(capsys, "check", "x.yaml")
    assert (code, err) == (130, "hlsgen: interrupted\n")


def test_other_errors_are_not_mistaken_for_interrupts(monkeypatch, capsys):
    monkeypatch.setattr(configs, "_cmd_check", _raise(SystemError("a real bug")))
    with pytest.raises(SystemError):
        cli.main(["check", "x.yaml"])
    monkeypatch.setattr(configs, "_cmd_check", _raise(ConfigError("name: bad")))
    assert run(capsys, "check", "x.yaml")[0] == 2

