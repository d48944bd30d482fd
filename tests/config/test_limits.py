"""Issue 12, "accepted by check, then a traceback or a broken project": every case is now a one-line
ConfigError at `hlsgen check` time, exit 2, naming the key. Unit tests for the rules, subprocess tests
for the exit-code and one-line contract."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hlsgen.config import config_from_dict, load_config, quote_types
from hlsgen.config.checks import MAX_SHOWN, show
from hlsgen.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
MNIST_YAML = ROOT / "configs" / "mnist.yaml"


def base() -> dict:
    return yaml.safe_load(quote_types(MNIST_YAML.read_text()))


def hlsgen(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "hlsgen.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def check_text(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    """`hlsgen check` on a config file holding ``text``; asserts the one-line, exit-2 contract."""
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    res = hlsgen("check", str(cfg), cwd=tmp_path)
    assert res.returncode == 2, (res.returncode, res.stdout[-500:], res.stderr[-2000:])
    assert "Traceback" not in res.stderr
    assert len(res.stderr.splitlines()) == 1, res.stderr[:2000]
    assert res.stderr.startswith("hlsgen: error: ")
    assert res.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]  # nothing half-written
    return res


def mutated(edit) -> dict:
    raw = base()
    edit(raw)
    return raw


def _set(path, value):
    def edit(raw):
        node = raw
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return edit


def _layer_name(i, name):
    return _set(["model", "layers", i, "name"], name)


# ------------------------------------------------------------------------------ unit: the rules

CASES = {
    # top name colliding in the generated C++, too long for hls4ml's file names
    "name_main": (_set(["name"], "main"), r"^name: 'main' collides with a name in the generated C\+\+"),
    "name_std": (_set(["name"], "std"), r"^name: 'std' collides"),
    "name_nnet": (_set(["name"], "nnet"), r"^name: 'nnet' collides"),
    "name_input_t": (_set(["name"], "input_t"), r"^name: 'input_t' collides"),
    "name_code_of": (_set(["name"], "code_of"), r"^name: 'code_of' collides"),
    "name_N_IN": (_set(["name"], "N_IN"), r"^name: 'N_IN' collides"),
    "name_printf": (_set(["name"], "printf"), r"^name: 'printf' collides"),
    "name_ap_fixed": (_set(["name"], "ap_fixed"), r"^name: 'ap_fixed' collides"),
    "name_defines": (_set(["name"], "Defines"), r"^name: 'Defines' collides"),  # firmware/defines.h
    "name_layer2_out": (_set(["name"], "layer2_out"), r"^name: 'layer2_out' collides"),
    "name_w2": (_set(["name"], "w2"), r"^name: 'w2' collides"),
    "name_config2": (_set(["name"], "relu_config4"), r"^name: 'relu_config4' collides"),
    "name_keyword": (_set(["name"], "class"), r"^name: 'class' is a C/C\+\+ keyword"),
    "name_underscore": (_set(["name"], "_Top"), r"^name: '_Top': names starting with '_'"),
    "name_300": (_set(["name"], "n" * 300), r"^name: 'nnnnnnnnnnnnnnnnnnnn'\.\.\. is 300 characters long; at most 64"),
    # layer names that collide with Keras' or hlsgen's own
    "layer_input_1": (_layer_name(0, "input_1"), r"^model\.layers\[0\]\.name: 'input_1' collides with the input"),
    "layer_input": (_layer_name(0, "input"), r"^model\.layers\[0\]\.name: 'input' collides with the input"),
    "layer_derived_relu": (_layer_name(1, "conv1_relu"), r"^model\.layers\[1\]\.name: 'conv1_relu' collides with "
                           r"the name derived from layer 'conv1'"),
    "layer_derived_q": (_layer_name(4, "fc1_q"), r"^model\.layers\[4\]\.name: 'fc1_q' collides"),
    "layer_is_top": (_layer_name(0, "mnist_cnn"), r"^model\.layers\[0\]\.name: 'mnist_cnn' is also the top name"),
    "layer_300": (_layer_name(0, "c" * 300), r"^model\.layers\[0\]\.name: 'cccccccccccccccccccc'\.\.\. is 300 "),
    # numbers
    "seed_2_70": (_set(["seed"], 2**70), r"^seed: must be <= 4294967295 \(2\*\*32 - 1\), got 1180591620717411303424$"),
    "seed_negative": (_set(["seed"], -1), r"^seed: must be >= 0"),
    "units_1e9": (_set(["model", "layers", 3, "units"], 10**9), r"^model\.layers\[3\] \(fc1\)\.units: at most 65536"),
    "params_2_24": (_set(["model", "layers", 3, "units"], 60000),
                    r"^model\.layers\[3\] \(fc1\): 20280000 weights, more than the 16777216 \(2\*\*24\)"),
    "kernel_huge": (_set(["model", "layers", 0, "kernel_size"], 5000), r"kernel_size: at most 1024"),
    "filters_values": (_set(["model", "layers", 0, "filters"], 30000),
                       r"^model\.layers\[0\] \(conv1\): output shape \[26, 26, 30000\] holds 20280000 values"),
    "input_dim": (_set(["model", "input_shape"], [10**6, 28, 1]), r"^model\.input_shape: expected .* up to 65536"),
    "clock_inf": (_set(["hls", "clock_period"], float("inf")),
                  r"^hls\.clock_period: expected a finite number, got inf"),
    "clock_nan": (_set(["hls", "clock_period"], float("nan")), r"^hls\.clock_period: expected a finite number"),
    "lr_inf": (_set(["train", "learning_rate"], float("inf")), r"^train\.learning_rate: expected a finite number"),
    "lr_nan": (_set(["train", "learning_rate"], float("nan")), r"^train\.learning_rate: expected a finite number"),
    "epsilon_inf": (lambda raw: raw["model"]["layers"].__setitem__(slice(1, 1), [
        {"type": "BatchNormalization", "name": "bn", "epsilon": float("inf")}]) or
        raw["model"]["layers"][0].__setitem__("activation", "linear"),
        r"^model\.layers\[1\]\.epsilon: expected a finite number, got inf"),
    "rate_nan": (_set(["model", "layers", 4, "rate"], float("nan")), r"^model\.layers\[4\]\.rate: expected a finite"),
    "epochs_huge": (_set(["train", "epochs"], 2**70), r"^train\.epochs: must be <= 1000000"),
    "reuse_huge": (_set(["hls", "reuse_factor", "default"], 2**40),
                   r"^hls\.reuse_factor\.default: must be <= 16777216"),
    "table_huge": (_set(["precision", "softmax", "table_size"], 2**20), r"^precision\.softmax\.table_size: must be <="),
    # types
    "accum_too_wide": (_set(["precision", "layers", "fc1", "result"], "ap_fixed<48,10>"),
                       r"^precision\.layers\.fc2\.accum: the derived accumulator \(every sum exact\) would be wider "
                       r"than the 62 bits supported \(input ap_fixed<48,10>, weight ap_fixed<8,2>"),
    "weight_neg_integer": (_set(["precision", "layers", "fc1", "weight"], "ap_fixed<8,-20>"),
                           r"^precision\.layers\.fc1\.weight: ap_fixed<8,-20> has 28 fraction bits \(W - I\); "
                           r"weights and biases may have at most 16"),
    "default_bias_frac": (_set(["precision", "default", "bias"], "ap_fixed<24,4>"),
                          r"^precision\.default\.bias: ap_fixed<24,4> has 20 fraction bits"),
    "signed_1_bit": (_set(["precision", "layers", "fc1", "result"], "ap_fixed<1,1>"),
                     r"^precision\.layers\.fc1\.result: ap_fixed<1,1>: QKeras quantizes a 1-bit signed type"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_with_one_line_error(case):
    edit, pattern = CASES[case]
    with pytest.raises(ConfigError) as info:
        config_from_dict(mutated(edit))
    text = str(info.value)
    assert "\n" not in text and len(text) < 400, text
    assert re.search(pattern, text), text


@pytest.mark.parametrize("name", ["mnist_cnn", "lenet5", "MyNet", "cnn_v2", "top"])
def test_ordinary_names_still_accepted(name):
    assert config_from_dict(mutated(_set(["name"], name))).name == name


@pytest.mark.parametrize("weight", ["ap_fixed<8,-8>", "ap_fixed<16,0>", "ap_fixed<6,-1>"])
def test_small_negative_integer_weights_still_accepted(weight):
    """16 fraction bits or fewer: float32 weights below 256 in magnitude quantize exactly."""
    cfg = config_from_dict(mutated(_set(["precision", "layers", "fc1", "weight"], weight)))
    assert str(cfg.precision["fc1"].weight) == weight


def test_limits_at_the_boundary_are_accepted():
    cfg = config_from_dict(mutated(_set(["seed"], 2**32 - 1)))
    assert cfg.seed == 2**32 - 1
    raw = base()
    raw["model"]["layers"][3]["units"] = 2**16  # 338 * 65536 = 22 M > 2**24: refused for its weights only
    with pytest.raises(ConfigError, match="weights, more than"):
        config_from_dict(raw)
    raw["model"]["layers"][3]["units"] = 49000  # 338 * 49000 = 16.56 M <= 2**24
    assert config_from_dict(raw).layer("fc1").output_shape == (49000,)


def test_show_caps_every_value():
    huge = ["x" * 1000] * 1000
    assert len(show(huge)) <= MAX_SHOWN
    assert len(show("y" * 10**6)) <= MAX_SHOWN
    assert "\n" not in show("a\nb")
    assert len(show(10**5000)) <= MAX_SHOWN  # beyond Python's int -> str limit
    nested: list = []
    for _ in range(200):
        nested = [nested, nested]
    t0 = time.perf_counter()
    assert len(show(nested)) <= MAX_SHOWN  # 2**200 leaves if expanded
    assert time.perf_counter() - t0 < 1


def test_huge_value_under_a_valid_key_gives_a_short_message():
    huge = ["lol"] * 10**6
    for edit in (_set(["train", "epochs"], huge), _set(["name"], huge), _set(["hls", "io_type"], huge),
                 _set(["output_dir"], huge), _set(["data", "path"], huge), _set(["model", "input_shape"], huge),
                 _set(["precision", "input"], "ap_fixed<" + "9" * 10**5 + ",1>")):
        with pytest.raises(ConfigError) as info:
            config_from_dict(mutated(edit))
        assert len(str(info.value)) < 300, str(info.value)[:300]


# ------------------------------------------------------------------------------ the YAML file

def test_duplicate_key_names_key_and_both_lines(tmp_path):
    text = MNIST_YAML.read_text().replace("seed: 1\n", "seed: 1\nseed: 2\n", 1)
    assert text.count("seed:") == 2
    line = text.splitlines().index("seed: 1") + 1
    res = check_text(tmp_path, text)
    assert re.search(rf"bad\.yaml: seed: key given twice, on lines {line} and {line + 1}", res.stderr), res.stderr


def test_duplicate_nested_key(tmp_path):
    text = MNIST_YAML.read_text().replace("clock_period: 10", "clock_period: 10\n  clock_period: 5", 1)
    res = check_text(tmp_path, text)
    assert "clock_period: key given twice, on lines" in res.stderr


def test_yaml_merge_keys_may_be_overridden(tmp_path):
    """A merge key (<<) is not a duplicate: YAML lets the mapping's own keys override merged ones."""
    src = MNIST_YAML.read_text()
    text = src.replace("train: {", "train: {<<: {epochs: 3, batch_size: 64}, ", 1)
    assert text != src
    cfg = tmp_path / "merge.yaml"
    cfg.write_text(text)
    train = load_config(cfg).train
    assert (train.epochs, train.batch_size) == (12, 128)  # its own keys win


def bomb(levels: int) -> str:
    """A config whose train.epochs is a "billion laughs": ``levels`` nested lists of 9 aliases each,
    9**levels strings in a few hundred bytes, anchored inside the value itself (so every key is valid)."""
    parts = ['&l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    parts += [f"&l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return MNIST_YAML.read_text().replace("train: {epochs: 12,", f"train: {{epochs: [{', '.join(parts)}],", 1)


def test_alias_bomb_is_refused_fast_and_small(tmp_path):
    """9**6 = 531441 strings under a valid key (the issue's bomb produced a 351 MB "one-line" error)."""
    text = bomb(6)
    assert "epochs: [&l0" in text and len(text) < 6000
    t0 = time.perf_counter()
    res = check_text(tmp_path, text)
    assert time.perf_counter() - t0 < 20
    assert "an alias bomb?" in res.stderr and len(res.stderr) < 300, res.stderr[:500]


def test_small_bomb_below_the_node_limit_still_gives_a_short_message(tmp_path):
    res = check_text(tmp_path, bomb(4))  # 9**4 strings: under the node limit, refused as a value
    assert "train.epochs: expected an integer, got [" in res.stderr
    assert len(res.stderr) < 300, res.stderr[:500]


def test_recursive_alias_refused(tmp_path):
    res = check_text(tmp_path, "name: mnist_cnn\nmodel: &m {layers: [*m]}\n")
    assert "refers to its own anchor" in res.stderr


def test_file_over_one_megabyte_refused(tmp_path):
    res = check_text(tmp_path, "name: mnist_cnn\n" + "# padding\n" * 120_000)
    assert "larger than 1024 kB" in res.stderr


def test_integer_beyond_pythons_digit_limit(tmp_path):
    res = check_text(tmp_path, MNIST_YAML.read_text().replace("seed: 1\n", f"seed: {'9' * 5000}\n", 1))
    assert len(res.stderr) < 300


@pytest.mark.parametrize("text,pattern", [
    ("clock_period: 10", "clock_period: .inf"),
    ("learning_rate: 1.0", "learning_rate: .nan"),
])
def test_non_finite_through_the_cli(tmp_path, text, pattern):
    src = MNIST_YAML.read_text()
    assert text in src
    res = check_text(tmp_path, src.replace(text, pattern, 1))
    assert "expected a finite number" in res.stderr


@pytest.mark.parametrize("old,new,expected", [
    ("name: mnist_cnn", "name: main", "name: 'main' collides"),
    ("name: mnist_cnn", "name: " + "n" * 300, "is 300 characters long"),
    ("name: conv1,", "name: input_1,", "'input_1' collides with the input layer"),
    ("seed: 1\n", "seed: 1180591620717411303424\n", "seed: must be <="),
    ("units: 128", "units: 1000000000", "units: at most 65536"),
    ("fc1:   {result: ap_ufixed<8,3,AP_RND_CONV,AP_SAT>}", "fc1:   {result: ap_fixed<48,10>}",
     "precision.layers.fc2.accum: the derived accumulator"),
    ("fc1:   {result: ap_ufixed<8,3,AP_RND_CONV,AP_SAT>}", "fc1:   {weight: ap_fixed<8,-20>}",
     "precision.layers.fc1.weight: ap_fixed<8,-20> has 28 fraction bits"),
])
def test_issue_cases_through_the_cli(tmp_path, old, new, expected):
    src = MNIST_YAML.read_text()
    assert old in src, old
    res = check_text(tmp_path, src.replace(old, new, 1))
    assert expected in res.stderr, res.stderr


@pytest.mark.parametrize("depth", [60, 5000])
def test_deep_nesting_refused(tmp_path, depth):
    res = check_text(tmp_path, "name: mnist_cnn\nmodel: " + "[" * depth + "]" * depth + "\n")
    assert "nesting deeper than 50 levels" in res.stderr
