"""Argument errors are hlsgen's one line (issue 26, "poor"): argparse's own format is four lines (usage,
blank, error); every one is `hlsgen: error: <command>: <what>`, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

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


def test_epochs_follow_the_configs_rule(tmp_path, capsys):
    """``--epochs 0`` (post-training quantization) is what ``train.epochs: 0`` is: allowed only when ``train.init``
    is a model file (an imported model's weights), refused in one line otherwise, before anything runs."""
    import copy

    import yaml
    from specs import REFERENCE

    from hlsgen.cli.common import epochs
    from hlsgen.config import config_from_dict
    from hlsgen.errors import UsageError

    raw = copy.deepcopy(REFERENCE)
    path = tmp_path / "float.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert cli.main(["build", str(path), "--epochs", "0", "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == ("hlsgen: error: --epochs: must be >= 1 (0, post-training quantization, needs train.init: a model "
                   "file), got 0\n") and not (tmp_path / "out").exists()
    model = Path(__file__).resolve().parent / "train" / "keras3_files" / "seed.h5"
    raw["train"].update(init=str(model), epochs=0, input_scale=255)
    given = config_from_dict(raw)
    epochs(given, 0)  # accepted: the build's PTQ of the given weights
    with pytest.raises(UsageError, match=r"^--epochs: must be >= 0, got -1$"):
        epochs(given, -1)
