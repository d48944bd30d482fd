"""Nothing stored in a model file runs, and reading one is bounded (#26 items 1, 8; the importer's poor cases).

Each hostile file is first shown to be live where a Keras loader would run it (the marker file appears), then
``hlsgen import`` must refuse it with one line naming the layer and its class, exit 2, and the marker must not
exist afterwards. Oracle for a refused read: the message; for a bounded read: the peak memory of the process.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import warnings
import zipfile

import h5py
import pytest
from hostile import lambda_model, module_class_keras, plain_model, rewrite_keras

from hlsgen.errors import HlsgenError
from hlsgen.keras_compat import KERAS3, keras


def _import(model, output, **kw):
    from hlsgen.importer import import_command

    return import_command(model, output, **{"images": 200, **kw})


def _refused(tmp_path, model, weights=None, match="", **kw):
    out = tmp_path / "out.yaml"
    with pytest.raises(HlsgenError, match=match) as info:
        _import(model, out, weights=weights, **kw)
    message = str(info.value)
    assert info.value.exit_code == 2 and "\n" not in message and len(message) < 400, message
    assert not out.exists() and not (tmp_path / "out.h5").exists()
    return message


@pytest.fixture()
def marker(tmp_path):
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "code stored in the model file ran"


# ------------------------------------------------------------------------------ code in a model file

@pytest.mark.parametrize("fmt", ["h5", "keras", "json"])
def test_lambda_is_refused_before_anything_runs(fmt, tmp_path, marker):
    files = lambda_model(marker, tmp_path)
    # live: Keras 2's own .h5 loader runs the Lambda's code; Keras 3 runs the code of a .keras given
    # safe_mode=False (its .h5 holds only the function's name)
    live = "keras" if KERAS3 else "h5"
    if fmt == live:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            keras.models.load_model(files[fmt][0], compile=False, **({"safe_mode": False} if KERAS3 else {}))
        assert marker.exists()
        marker.unlink()
    model, weights = files[fmt]
    message = _refused(tmp_path, model, weights, match=r"layer 'evil' \(Lambda\): a Python function")
    assert message.startswith(f"{model}: "), message


def test_class_of_a_user_module_is_refused(tmp_path, marker, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    path = module_class_keras(marker, tmp_path)
    with pytest.raises(Exception):  # noqa: B017 - live on Keras 2: it imports evilmod looking for the class
        keras.models.load_model(path, compile=False)
    if not KERAS3:  # Keras 3 imports only modules of Keras' own packages; hlsgen must refuse it all the same
        assert marker.exists()
        marker.unlink()
    sys.modules.pop("evilmod", None)
    _refused(tmp_path, path, match=r": a custom object 'Model' of module 'evilmod': only Keras'")


def _edited(tmp_path, name, edit):
    model = plain_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "plain.keras")
    return rewrite_keras(tmp_path / "plain.keras", tmp_path / f"{name}.keras", edit)


def _layer(config, i):
    return config["config"]["layers"][i]


EDITS = {  # name: (edit of the plain model's config.json, what the message must say)
    "registered": (lambda c: _layer(c, 2).update(registered_name="evilpkg>Dense"),
                   r"layer 'fc1' \(Dense\): 'Dense' of module 'keras.layers' registered as 'evilpkg>Dense'"),
    "main_class": (lambda c: _layer(c, 2)["config"].update(kernel_initializer={"module": None, "class_name": "Mine",
                                                                               "config": {}}),
                   r"layer 'fc1' \(Dense\): a custom object 'Mine' \(defined in the user's script"),
    "module_class": (lambda c: _layer(c, 2).update(module="evilmod"),
                     r"layer 'fc1' \(Dense\): a custom object 'Dense' of module 'evilmod'"),
    "custom_layer": (lambda c: _layer(c, 2).update(module="keras.layers", class_name="MyDense"),
                     r"layer 'fc1' \(MyDense\): unsupported layer type"),
    "legacy_initializer": (lambda c: _layer(c, 2)["config"].update(kernel_initializer={"class_name": "MyInit",
                                                                                       "config": {}}),
                           r"layer 'fc1' \(Dense\): kernel_initializer: 'MyInit' is not one of Keras' initializers"),
    "builtins_activation": (lambda c: _layer(c, 2)["config"].update(
        activation={"module": "builtins", "class_name": "function", "config": "print", "registered_name": "function"}),
        r"layer 'fc1' \(Dense\): a serialized function 'print' of module 'builtins'"),
    "lambda_inside": (lambda c: _layer(c, 2)["config"].update(
        bias_constraint={"class_name": "__lambda__", "config": {"code": "AAAA"}}),
        r"layer 'fc1' \(Dense\): a Python function stored in the file"),
    "subclassed_model": (lambda c: c.update(class_name="MyModel", module="mymodels"),
                         r"a custom object 'MyModel' of module 'mymodels'"),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_custom_objects_and_functions_are_refused(name, tmp_path):
    edit, match = EDITS[name]
    _refused(tmp_path, _edited(tmp_path, name, lambda c: (edit(c), c)[1]), match=match)


QUANTIZER_TEXTS = {  # QActivation's activation text: QKeras would call what its module holds under the name
    "quantized_bits(__import__('os').system('touch x'))": "is not a quantizer call with literal arguments",
    "set_internal_sigmoid('real')": "unsupported quantizer 'set_internal_sigmoid'",
    "quantized_bits(8, 0, alpha=np.ones(3))": "is not a quantizer call with literal arguments",
    "stochastic_binary()": "stochastic quantizers are not supported",
}


@pytest.mark.parametrize("text", list(QUANTIZER_TEXTS))
def test_quantizer_strings_are_parsed_never_evaluated(text, tmp_path):
    def edit(c):
        c["config"]["layers"].insert(2, {"module": "qkeras.qlayers", "class_name": "QActivation",
                                         "registered_name": "QActivation",
                                         "config": {"name": "q", "trainable": True, "dtype": "float32",
                                                    "activation": text}})
        return c

    _refused(tmp_path, _edited(tmp_path, "quantizer", edit),
             match=r"layer 'q' \(QActivation\) activation: .*" + QUANTIZER_TEXTS[text].replace("(", r"\("))


# ------------------------------------------------------------------------------ bounded reads

def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_huge_junk_file_is_not_read(tmp_path):
    junk = tmp_path / "junk.h5"
    with open(junk, "wb") as f:
        f.truncate(3 << 30)  # 3 GiB, sparse: costs no disk, would cost 3 GiB of memory if read
    before = _peak_mb()
    _refused(tmp_path, junk, match="not a Keras model file")
    assert _peak_mb() - before < 200, f"peak memory grew by {_peak_mb() - before:.0f} MB"


def _bomb(tmp_path, member: str, size: int):
    """A valid .keras of the plain model whose ``member`` is replaced by (or added as) ``size`` zero bytes,
    deflated (about 1,000:1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain_model().save(tmp_path / "plain.keras")
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(tmp_path / "plain.keras") as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            if info.filename != member:
                z.writestr(info.filename, zin.read(info.filename))
        with z.open(member, "w", force_zip64=True) as f:
            block = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                f.write(block)
    (tmp_path / "plain.keras").unlink()
    assert path.stat().st_size < 3 << 20
    return path


@pytest.mark.parametrize(("member", "size", "match"), [
    ("config.json", 1 << 30, r"config.json declares 1,073,741,824 bytes; the limit is 4,194,304"),
    ("model.weights.h5", 1 << 30, r"model.weights.h5 declares 1,073,741,824 bytes; the limit is 536,870,912"),
    ("model.weights.h5", 256 << 20, r"model.weights.h5 inflates [0-9,]+ bytes to 268,435,456 \(over 100:1\)"),
])
def test_zip_bombs_are_refused_unread(member, size, match, tmp_path):
    path = _bomb(tmp_path, member, size)
    before = _peak_mb()
    _refused(tmp_path, path, match=match)
    assert _peak_mb() - before < 200, f"peak memory grew by {_peak_mb() - before:.0f} MB"


def test_a_keras_archive_is_never_extracted(data_env, tmp_path, monkeypatch):
    """A 1 GiB asset in a 1 MB .keras (Keras 2's loader extracts every member to a temporary directory): the
    model imports and no member but config.json and model.weights.h5 is ever opened."""
    path = _bomb(tmp_path, "assets/big.bin", 1 << 30)
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        if self.filename == str(path):  # not the MNIST .npz, also a zip
            opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    before = _peak_mb()
    _import(path, tmp_path / "m.yaml")
    assert _peak_mb() - before < 200, f"peak memory grew by {_peak_mb() - before:.0f} MB"
    assert set(opened) == {"config.json", "model.weights.h5"}, opened


def test_architecture_json_limits(tmp_path):
    model = plain_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save_weights(tmp_path / "w.weights.h5")  # Keras 3 wants this suffix
    config = json.loads(model.to_json())
    cases = {
        "layers": ({**config, "config": {**config["config"], "layers": config["config"]["layers"][:1] + [
            {"class_name": "Dense", "config": {"name": f"d{i}", "units": 1}} for i in range(12_000)]}},
            "the architecture has 12,001 layers; the limit is 256"),
        "elements": ({**config, "padding": [0] * 300_000}, "holds over 200,000 values"),
        "depth": ({**config, "padding": json.loads("[" * 200 + "]" * 200)}, "nests deeper than 64 levels"),
    }
    for name, (tree, match) in cases.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(tree))
        _refused(tmp_path, tmp_path / f"{name}.json", tmp_path / "w.weights.h5", match=match)
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    _refused(tmp_path, tmp_path / "deep.json", tmp_path / "w.weights.h5", match="nests too deep")
    (tmp_path / "big.json").write_text(json.dumps({**config, "padding": "x" * (5 << 20)}))
    _refused(tmp_path, tmp_path / "big.json", tmp_path / "w.weights.h5", match="over 4,194,304 bytes")


def test_model_config_attribute_is_measured_before_it_is_read(tmp_path):
    with h5py.File(tmp_path / "big.h5", "w") as f:
        f.attrs["model_config"] = b" " * (5 << 20)
    _refused(tmp_path, tmp_path / "big.h5", match="model_config attribute is over 4,194,304 bytes")


# ------------------------------------------------------------------------------ what the file is

def test_what_the_path_is_is_said(tmp_path):
    (tmp_path / "dir.h5").mkdir()
    assert _refused(tmp_path, tmp_path / "dir.h5") == f"{tmp_path / 'dir.h5'}: a directory, not a model file"
    assert _refused(tmp_path, "/dev/null") == "/dev/null: a character device, not a model file"
    os.mkfifo(tmp_path / "fifo.h5")  # never opened: opening a FIFO would wait for a writer
    assert _refused(tmp_path, tmp_path / "fifo.h5").endswith("a FIFO (named pipe), not a model file")
    (tmp_path / "empty.h5").write_bytes(b"")
    assert _refused(tmp_path, tmp_path / "empty.h5").endswith("an empty file, not a model file")
    assert _refused(tmp_path, tmp_path / "missing.h5").endswith("no such model file")


def _replace_kernel(f: h5py.File, layer: str, make) -> None:
    """Replace layer ``layer``'s kernel dataset in a Keras ``.h5``, wherever the writing Keras put it (Keras 2:
    ``model_weights/L/L/kernel:0``; Keras 3: ``model_weights/L/<model>/L/kernel``) by ``make(group, name)``."""
    found = []
    f[f"model_weights/{layer}"].visititems(
        lambda name, obj: found.append(obj.name)
        if isinstance(obj, h5py.Dataset) and name.rsplit("/", 1)[-1] in ("kernel", "kernel:0") else None)
    assert len(found) == 1, found
    group_name, name = found[0].rsplit("/", 1)
    del f[found[0]]
    make(f[group_name], name)


def test_weights_outside_the_file_are_refused(tmp_path):
    model = plain_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "m.h5")
    (tmp_path / "secret.bin").write_bytes(b"\0" * 784 * 16 * 4)
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        _replace_kernel(f, "fc1", lambda group, name: group.create_dataset(
            name, (784, 16), "float32", external=[(str(tmp_path / "secret.bin"), 0, 784 * 64)]))
    _refused(tmp_path, tmp_path / "m.h5", match=r"layer 'fc1' \(Dense\): kernel is stored outside the file")
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        _replace_kernel(f, "fc1", lambda group, name: group.__setitem__(
            name, h5py.ExternalLink(str(tmp_path / "other.h5"), "/kernel")))
    _refused(tmp_path, tmp_path / "m.h5", match="a link to another place or file; refused")


# ------------------------------------------------------------------------------ values no type holds (#26 item 9)

def _with_weight(tmp_path, name, value, column=False):
    model = plain_model()
    kernel, bias = model.get_layer("fc1").get_weights()
    if column:
        kernel[:, 5] = value
    else:
        kernel[3, 5] = value
    model.get_layer("fc1").set_weights([kernel, bias])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / f"{name}.h5")
    return tmp_path / f"{name}.h5"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_infinite_weights_name_the_layer_and_weight(value, tmp_path):
    path = _with_weight(tmp_path, "bad", value)
    _refused(tmp_path, path, match=rf"^{path}: layer 'fc1' \(Dense\): kernel\[3, 5\] = -?(nan|inf) \(1 value NaN or "
                                   "beyond float32\\): a model with NaN or infinite weights cannot be converted$")


def test_overflowing_float_values_name_the_layer(data_env, tmp_path):
    """Finite weights (3e38) whose sums overflow float32: the profile of fc2's sums holds inf and NaN."""
    path = _with_weight(tmp_path, "overflow", 3e38, column=True)
    _refused(tmp_path, path, match=r"^layer 'fc2': [0-9,]+ of [0-9,]+ accum values are NaN or infinite "
                                   r"\(the float model overflows float32 there, first: (inf|nan)\): "
                                   r"no fixed-point type holds them$")


def test_a_weight_beyond_every_type_of_the_width_is_named(data_env, tmp_path):
    path = _with_weight(tmp_path, "huge", 1e30)
    _refused(tmp_path, path, match=r"^layer 'fc1': a weight of 1\.00392e\+30 is out of range of every 8-bit "
                                   r"type \(ap_fixed<8,I> holds magnitudes up to 128 with I <= 8; this value needs "
                                   r"I = 101\)$")


# ------------------------------------------------------------------------------ options and output

@pytest.mark.parametrize("bits", [0, 1, 17, -3])
def test_bits_has_one_rule_and_one_message(bits, tmp_path):
    _refused(tmp_path, tmp_path / "never-read.h5", match=rf"^--bits: a width from 2 to 16 is expected, got {bits}$",
             bits=bits)


def test_two_bits_import(data_env, tmp_path):
    """--bits 2 (the rule's lower end) imports; a result no 2-bit type holds saturates at I = 2, said beside it."""
    from hlsgen.config import load_config

    path = _with_weight(tmp_path, "m", 0.25, column=True)  # fc1's sums, and so fc2's, beyond 2
    out = _import(path, tmp_path / "m2.yaml", bits=2)
    cfg = load_config(out)
    assert all(t.width == 2 for lc in cfg.layers if lc.has_weights
               for t in (cfg.precision[lc.name].weight, cfg.precision[lc.name].result))
    assert "more than --bits 2)" in out.read_text()


def test_files_written_as_the_umask_says_and_the_real_image_count(data_env, tmp_path):
    path = _with_weight(tmp_path, "m", 0.0)
    old = os.umask(0o027)
    try:
        out = _import(path, tmp_path / "m.yaml", images=100_000_000)
    finally:
        os.umask(old)
    assert oct(out.stat().st_mode & 0o777) == oct(0o640)
    assert oct((tmp_path / "m.imported.h5").stat().st_mode & 0o777) == oct(0o640)
    text = out.read_text()
    assert f"I profiled on {len(data_env['x_train'])} training images" in text and "100000000" not in text


def test_a_keras_zip_named_h5_is_read_as_what_it_is(data_env, tmp_path):
    from hlsgen.config import load_config

    model = plain_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "m.keras")
    (tmp_path / "zip.h5").write_bytes((tmp_path / "m.keras").read_bytes())
    a = load_config(_import(tmp_path / "m.keras", tmp_path / "a.yaml"))
    b = load_config(_import(tmp_path / "zip.h5", tmp_path / "b.yaml"))
    assert a.resolved["model"] == b.resolved["model"] and a.resolved["precision"] == b.resolved["precision"]


def test_an_unwritable_output_is_one_line(data_env, tmp_path):
    path = _with_weight(tmp_path, "m", 0.0)
    with pytest.raises(HlsgenError, match=r"^/proc/x\.yaml: cannot write the imported config") as info:
        _import(path, "/proc/x.yaml")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("bits", ["0", "-1"])
def test_cli_bits_message_is_the_importers(bits, tmp_path, capsys):
    from hlsgen import cli

    assert cli.main(["import", str(tmp_path / "m.h5"), "--bits", bits, "--output", str(tmp_path / "x.yaml")]) == 2
    assert capsys.readouterr().err == f"hlsgen: error: --bits: a width from 2 to 16 is expected, got {bits}\n"


def test_compressed_weights_are_bounded_before_they_are_read(tmp_path):
    """An .h5 of 9 dense layers of 4096 x 4096 zeros, gzip-compressed (a few MB on disk, 604 MB as float32):
    refused from the architecture's shapes, no array read."""
    L = keras.layers  # noqa: N806
    layers = [keras.Input((4096,))] + [L.Dense(4096, use_bias=False, name=f"d{i}", kernel_initializer="zeros")
                                       for i in range(9)]
    model = keras.Sequential(layers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "zeros.h5")
    with h5py.File(tmp_path / "zeros.h5", "r+") as f:  # recompress every kernel: the file shrinks to a few MB
        for i in range(9):
            _replace_kernel(f, f"d{i}", lambda group, name: group.create_dataset(
                name, (4096, 4096), "float32", compression="gzip", fillvalue=0))
    before = _peak_mb()
    _refused(tmp_path, tmp_path / "zeros.h5", match=r"the architecture's weights take 603,979,776 bytes as float32; "
                                                    r"the limit is 536,870,912")
    assert _peak_mb() - before < 200, f"peak memory grew by {_peak_mb() - before:.0f} MB"
