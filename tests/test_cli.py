"""Argument errors are hlsgen's one line (issue 26, "poor"): argparse's own format is four lines (usage,
blank, error); every one is `hlsgen: error: <command>: <what>`, exit 2, no traceback."""

from __future__ import annotations

import pytest

from hlsgen import cli


@pytest.mark.parametrize("argv, message", [
    (["import", "m.h5", "--bits", "abc", "--output", "x.yaml"], "import: argument --bits: invalid int value: 'abc'"),
    (["import", "m.h5", "--input-scale", "7", "--output", "x.yaml"], "import: argument --input-scale: invalid choice"),
    (["import", "m.h5"], "import: the following arguments are required: --output"),
    (["csim"], "csim: the following arguments are required: project"),
    (["rtl", "p", "--jobs", "x" * 5000], "rtl: argument --jobs: invalid int value: 'xxxxxxxx"),
    (["bogus"], "argument COMMAND: invalid choice: 'bogus'"),
    (["prove", "p", "--jsn"], "unrecognized arguments: --jsn"),
])
def test_argument_errors_are_one_line_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith(f"hlsgen: error: {message}"), err
    assert len(err) < 300 and "usage:" not in err
