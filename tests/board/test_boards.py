"""hls.board in the config: a board fixes the part and the clock unless the config gives them; an unknown
board or another part is a one-line error; without a board the config resolves as before boards existed."""

from __future__ import annotations

import copy

import pytest
from specs import REFERENCE

from hlsgen.board.boards import BOARD_NAMES, BOARDS
from hlsgen.config import config_from_dict
from hlsgen.config.loader import BOARD_PARTS
from hlsgen.errors import ConfigError


def config(**hls):
    raw = copy.deepcopy(REFERENCE)
    raw["hls"] = {**raw["hls"], **hls}
    return config_from_dict(raw)


def test_the_config_and_the_board_table_agree():
    assert set(BOARD_PARTS) == set(BOARDS) and BOARD_NAMES == ("none", *BOARDS)
    for name, brd in BOARDS.items():
        assert BOARD_PARTS[name] == (brd.part, brd.clock_period), name
        assert brd.stream_bits % 8 == 0 and brd.hp_bits >= brd.stream_bits


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_a_board_fixes_part_and_clock(name):
    cfg = config(board=name)
    assert (cfg.hls.board, cfg.hls.part, cfg.hls.clock_period) == (name, BOARDS[name].part, 10.0)
    assert cfg.resolved["hls"]["board"] == name and cfg.resolved["hls"]["part"] == BOARDS[name].part


def test_the_config_may_set_the_clock_and_the_boards_own_part():
    cfg = config(board="zcu104", clock_period=5, part="xczu7ev-ffvc1156-2-e")
    assert (cfg.hls.part, cfg.hls.clock_period) == ("xczu7ev-ffvc1156-2-e", 5.0)


def test_another_part_is_an_error_naming_both():
    with pytest.raises(ConfigError) as err:
        config(board="zcu104", part="xc7z020clg400-1")
    assert str(err.value).startswith("hls.part: 'xc7z020clg400-1' is not the part of hls.board zcu104")
    assert "\n" not in str(err.value)


def test_an_unknown_board_is_an_error_naming_the_key():
    with pytest.raises(ConfigError) as err:
        config(board="pynq-z1")
    assert str(err.value).startswith("hls.board:") and "pynq-z2" in str(err.value)


def test_without_a_board_the_resolved_config_and_its_digest_are_unchanged():
    plain, explicit = config(), config(board="none")
    assert "board" not in plain.resolved["hls"] and plain.hls.board == "none"
    assert plain.digest() == explicit.digest() and plain.resolved_yaml() == explicit.resolved_yaml()
