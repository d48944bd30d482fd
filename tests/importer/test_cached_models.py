"""The models of a cached training (``<output_dir>/train``) are hlsgen's own files, but they sit in a
folder anyone can write: `hlsgen profile` and `hlsgen search` reused them with Keras' loader, which runs a
Lambda layer's code. Now the models are built from the config and only their weight arrays are read
(:func:`hlsgen.train.training.load_trained`; its round trip: tests/train/test_train.py): a hostile file is
refused in one line and its code never runs."""

from __future__ import annotations

import copy

import pytest
from hostile import lambda_model
from specs import REFERENCE

from hlsgen.config import config_from_dict
from hlsgen.errors import HlsgenError
from hlsgen.train.training import build_float_model, build_qkeras_model, load_trained, save_model


def small_cfg():
    raw = copy.deepcopy(REFERENCE)
    raw["model"]["layers"][3]["units"] = 8
    return config_from_dict(raw)


@pytest.mark.parametrize("which", ["qat_model.h5", "float_model.h5"])
def test_a_hostile_cached_model_never_runs(tmp_path, which):
    cfg = small_cfg()
    marker = tmp_path / "RAN"
    files = lambda_model(marker, tmp_path)
    save_model(build_qkeras_model(cfg), tmp_path / "qat_model.h5")
    save_model(build_float_model(cfg), tmp_path / "float_model.h5")
    files["h5"][0].replace(tmp_path / which)
    with pytest.raises(HlsgenError, match=f"{which}: not the weights of this config's model") as err:
        load_trained(tmp_path, cfg)
    assert "\n" not in str(err.value)
    assert not marker.exists()
