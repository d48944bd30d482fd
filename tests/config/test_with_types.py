"""A config changed through its types (Config.with_types): types travel as FixedTypes, never formatted and parsed
back; accumulators are derived again; the original config is unchanged; YAML spells them as a config file does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hlsgen.config import CHOSEN, INPUT_KEY, Quantity, TypeKey, load_config
from hlsgen.errors import ConfigError
from hlsgen.fixed import FixedType

ROOT = Path(__file__).resolve().parents[2]
T = FixedType.parse


def test_with_types_sets_the_types_themselves_and_derives_the_accumulator_again():
    cfg = load_config(ROOT / "configs" / "mnist.yaml")
    w = T("ap_fixed<6,1>")
    new = cfg.with_types({TypeKey("fc1", Quantity.WEIGHT): w, TypeKey("fc2", Quantity.RESULT): T("ap_fixed<10,5>")})
    assert new.precision["fc1"].weight is w  # the object itself: no string on the way
    assert new.raw["precision"]["layers"]["fc1"]["weight"] is w
    assert str(new.precision["fc1"].accum) == "ap_fixed<23,13>"  # 6-bit weights: two bits fewer than 8-bit ones
    assert str(cfg.precision["fc1"].accum) == "ap_fixed<25,13>" and cfg.precision["fc1"].weight == T("ap_fixed<8,1>")
    assert new.precision["fc2"].result == T("ap_fixed<10,5>")
    assert new.digest() != cfg.digest() and cfg.with_types({}).digest() == cfg.digest()


def test_with_types_never_parses_a_type_string(monkeypatch):
    cfg = load_config(ROOT / "configs" / "mnist.yaml")
    given = {TypeKey("conv1", q): T("ap_fixed<7,2>") for q in CHOSEN} | {INPUT_KEY: T("ap_ufixed<8,0>")}
    parsed = []
    original = FixedType.parse.__func__

    def spy(cls, text, *args, **kwargs):
        parsed.append(text)
        return original(cls, text, *args, **kwargs)

    monkeypatch.setattr(FixedType, "parse", classmethod(spy))
    new = cfg.with_types(given)
    assert "ap_fixed<7,2>" not in parsed and new.precision["conv1"].weight == T("ap_fixed<7,2>")


def test_a_type_with_more_integer_bits_than_width_is_refused_as_a_string_is():
    cfg = load_config(ROOT / "configs" / "mnist.yaml")
    with pytest.raises(ConfigError, match=r"precision.layers.fc1.weight: 'ap_fixed<4,6>' has more integer bits"):
        cfg.with_types({TypeKey("fc1", Quantity.WEIGHT): FixedType(4, 6, True)})


def test_yaml_spells_quantities_and_types_as_a_config_file_does():
    text = yaml.safe_dump({Quantity.WEIGHT: T("ap_fixed<8,3,AP_RND_CONV,AP_SAT>")})
    assert text == "weight: ap_fixed<8,3,AP_RND_CONV,AP_SAT>\n"
    assert yaml.safe_load(text) == {"weight": "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"}
