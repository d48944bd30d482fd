"""hlsgen search: the pure parts by hand (weight bits, moves, the greedy choice, the Pareto front, the
types per width), and end to end on a tiny network (slow): outputs, the same result with 1 and 2 local
Dask workers, and the same result through a real ``dask scheduler`` / ``dask worker`` on 127.0.0.1."""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from specs import REFERENCE, tiny_search_config

from hlsgen.config import config_from_dict, load_config
from hlsgen.errors import UsageError
from hlsgen.fixed import FixedType
from hlsgen.search.command import SearchSpace, parse_bits, search_command
from hlsgen.search.greedy import (
    Move,
    allowed_loss,
    choose_move,
    confirm_set,
    generate_moves,
    pareto_front,
    saved_bits,
    weight_bits,
)

T = FixedType.parse

# configs/mnist.yaml's parameters: conv1 3x3x1x2 + 2, fc1 338x128 + 128, fc2 128x10 + 10
MNIST_SIZES = {("conv1", "weight"): 18, ("conv1", "bias"): 2, ("conv1", "result"): 0,
               ("fc1", "weight"): 43264, ("fc1", "bias"): 128, ("fc1", "result"): 0,
               ("fc2", "weight"): 1280, ("fc2", "bias"): 10, ("fc2", "result"): 0}


# ------------------------------------------------------------------------------ pure parts, by hand

def test_weight_bits_by_hand():
    eight = dict.fromkeys(MNIST_SIZES, 8)
    assert weight_bits(MNIST_SIZES, eight) == 44702 * 8 == 357616
    # the hand result: fc1 weights at 4 bits save 43264 * 4 bits, 48 %
    four = {**eight, ("fc1", "weight"): 4}
    assert weight_bits(MNIST_SIZES, four) == 357616 - 4 * 43264 == 184560
    assert round(1 - 184560 / 357616, 3) == 0.484
    # results hold no memory
    assert weight_bits(MNIST_SIZES, {**eight, ("fc1", "result"): 2}) == 357616
    assert saved_bits(MNIST_SIZES, Move(("fc1", "weight"), 8, 6)) == 2 * 43264
    assert saved_bits(MNIST_SIZES, Move(("fc2", "result"), 8, 7)) == 0


def test_moves_by_hand():
    widths = {("a", "weight"): 8, ("a", "bias"): 8, ("a", "result"): 2, ("b", "weight"): 12}
    moves = generate_moves(widths, frozenset({("a", "bias")}), lo=2, hi=8)
    # a.bias frozen, a.result at the floor, b.weight wider than hi drops to hi first
    assert moves == [Move(("a", "weight"), 8, 7), Move(("b", "weight"), 12, 8)]
    assert generate_moves(widths, set(), lo=8, hi=8) == [Move(("b", "weight"), 12, 8)]
    assert [m.name for m in generate_moves(widths, set(), 2, 8)] == ["a.weight", "a.bias", "b.weight"]


def test_allowed_loss_by_hand():
    assert allowed_loss(0.5, 10000) == 50
    assert allowed_loss(0.5, 500) == 2      # 2.5 images: 2
    assert allowed_loss(0.3, 1000) == 3     # 0.3 * 1000 / 100 is 3.0000000000000004 in floats
    assert allowed_loss(0.7, 100) == 0
    assert allowed_loss(0.0, 10000) == 0


def test_choose_move_by_hand():
    sizes = {("a", "weight"): 1000, ("b", "weight"): 300, ("c", "weight"): 5000, ("a", "result"): 0}
    a = Move(("a", "weight"), 8, 7)     # saves 1000 bits
    b = Move(("b", "weight"), 8, 7)     # saves 300
    c = Move(("c", "weight"), 8, 7)     # saves 5000
    r = Move(("a", "result"), 8, 7)     # saves no memory
    current, floor = 100, 95
    # a loses 2 images: 500 bits per image; b loses none (counted as 1): 300; c falls below the floor
    assert choose_move(current, [(b, 100), (a, 98), (c, 94), (r, 100)], sizes, floor) == 1
    assert choose_move(current, [(b, 100), (c, 94), (r, 100)], sizes, floor) == 0
    # a result move only when no memory-saving move qualifies; None (not evaluable) never qualifies
    assert choose_move(current, [(c, 94), (r, 97), (a, None)], sizes, floor) == 1
    assert choose_move(current, [(c, 94), (a, None)], sizes, floor) is None
    # equal ratio (3000 bits / 3 images = 1000 bits / 1): more bits saved wins
    three = {("a", "weight"): 1000, ("c", "weight"): 3000}
    assert choose_move(current, [(a, 100), (c, 97)], three, floor) == 1
    # a gain counts as a loss of one image; equal keys: the earlier move
    assert choose_move(current, [(a, 101), (a, 100)], sizes, floor) == 0
    r2 = Move(("a", "result"), 7, 6)
    assert choose_move(current, [(r, 96), (r2, 99)], sizes, floor) == 1   # results: the more accurate


def test_pareto_front_by_hand():
    # (bits, correct): 3 and 5 are equal (first kept), 4 is dominated by 3, 2 and 0 by 1, 6 not evaluated
    points = [(100, 90), (80, 90), (80, 85), (60, 70), (70, 60), (60, 70), (50, None)]
    assert pareto_front(points) == [3, 1]
    assert pareto_front([(10, 5)]) == [0]
    assert pareto_front([(10, 5), (20, 6), (30, 7), (25, 6)]) == [0, 1, 2]
    assert pareto_front([]) == []


def test_confirm_set_by_hand():
    front = [7, 5, 3, 2, 1, 0]                      # by increasing bits
    bits = {7: 10, 5: 20, 3: 30, 2: 31, 1: 60, 0: 100}
    # best 5: the narrower 7, then one fallback nearest to (20 + 100) / 2 = 60
    assert confirm_set(front, bits, 5, 3) == [7, 5, 1]
    # best 5, four: targets 20 + 80/3 = 46.7 (31 is 15.7 away, 60 is 13.3: 1) and 73.3 (0 is 26.7 away,
    # 60 is taken: 0)
    assert confirm_set(front, bits, 5, 4) == [7, 5, 1, 0]
    # nothing narrower than 7: two fallbacks at 40 (31 nearest) and 70 (60)
    assert confirm_set(front, bits, 7, 3) == [7, 2, 1]
    assert confirm_set(front, bits, 0, 3) == [1, 0]  # the widest: only the narrower neighbour
    assert confirm_set(front, bits, 5, 1) == [5]
    assert confirm_set(front, bits, 5, 0) == []
    # a tie between two members equally near the target: the narrower
    assert confirm_set([1, 2, 3, 4], {1: 0, 2: 40, 3: 60, 4: 100}, 1, 2) == [1, 2]


def _space() -> SearchSpace:
    cfg = config_from_dict(REFERENCE)
    keys = list(MNIST_SIZES)
    reference = {k: getattr(cfg.precision[k[0]], k[1]) for k in keys}
    extremes = dict.fromkeys(keys, (-0.2, 0.245))
    extremes[("fc1", "result")] = (0.0, 5.5)
    extremes[("fc2", "result")] = (-9.0, 12.0)
    unsigned = {("conv1", "result"), ("fc1", "result")}
    return SearchSpace(cfg, copy.deepcopy(REFERENCE), MNIST_SIZES, reference, extremes, unsigned)


def test_types_per_width_by_hand():
    space = _space()
    w = ("fc1", "weight")
    assert space.type_at(w, 8) == T("ap_fixed<8,1>")              # the config's own type at its width
    # [-0.2, 0.245] at 7 bits: ap_fixed<7,-1> (LSB 1/256) holds [-0.25, 63/256]: 0.245 rounds to 63/256;
    # ap_fixed<7,-2> holds only [-0.125, 0.125)
    assert space.type_at(w, 7) == T("ap_fixed<7,-1>")
    # at 4 bits ap_fixed<4,-1> (LSB 1/32) holds up to 7/32; 0.245 = 7.84/32 rounds to 8/32 and would
    # saturate (truncation would keep 7/32: the rounding the weights really get decides), so one more bit
    assert space.type_at(w, 4) == T("ap_fixed<4,0>")
    r = ("fc1", "result")                                           # 5.5 after a ReLU: ap_ufixed<W,3>
    assert space.type_at(r, 6) == T("ap_ufixed<6,3,AP_RND_CONV,AP_SAT>")
    assert space.type_at(("fc2", "result"), 6) == T("ap_fixed<6,5,AP_RND_CONV,AP_SAT>")  # -9 .. 12
    widths = {k: t.width for k, t in space.reference.items()}
    ok = space.candidate(1, 1, Move(w, 8, 4), {**widths, w: 4})
    assert ok.error is None and ok.weight_bits == 184560
    assert str(ok.raw["precision"]["layers"]["fc1"]["weight"]) == "ap_fixed<4,0>"
    assert ok.hw["multipliers"] > 0
    # ap_ufixed<2,3>: more integer bits than width, rejected by the config rules
    bad = space.candidate(2, 1, Move(r, 3, 2), {**widths, r: 2})
    assert bad.error is not None and ("integer bits" in bad.error or "width" in bad.error), bad.error


def test_worker_module_loads_no_tensorflow():
    code = ("import sys, hlsgen.search.task, hlsgen.search.scheduler, hlsgen.search.greedy; "
            "heavy = [m for m in ('tensorflow', 'qkeras', 'hls4ml') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_parse_bits():
    assert parse_bits("2..8") == (2, 8)
    assert parse_bits("6") == (6, 6)
    for bad in ("8..2", "0..4", "a..b", "2-8", ""):
        with pytest.raises(UsageError, match="--bits"):
            parse_bits(bad)


def test_refuses_foreign_output_and_bad_bits(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({**REFERENCE, "output_dir": str(tmp_path / "build" / "x")}))
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="refusing to replace"):
        search_command(cfg, output=foreign)
    with pytest.raises(UsageError, match="--bits"):
        search_command(cfg, bits=(6, 4))
    assert (foreign / "notes.txt").read_text() == "keep me"


# ------------------------------------------------------------------------------ end to end (tiny network)

def _tiny(root: Path) -> Path:
    return tiny_search_config(root, 2000, 500, units=16, epochs=12)


RUN = dict(max_drop=5.0, qat_epochs=1, test_images=500, confirm_candidates=3, force=True)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("search")
    cfg = _tiny(root)
    out = search_command(cfg, workers=1, output=root / "out1", **RUN)
    return root, cfg, out


def _json(out: Path) -> dict:
    result = json.loads((out / "search.json").read_text())
    result.pop("seconds")
    result.pop("phase_seconds")
    return result


@pytest.mark.slow
def test_search_writes_a_smaller_valid_config(tiny):
    _, _, out = tiny
    result = json.loads((out / "search.json").read_text())
    assert {"reference", "best", "candidates", "evaluations", "seconds"} <= set(result)
    ref, best = result["reference"], result["best"]
    assert best["weight_bits"] < ref["weight_bits"]
    assert best["accuracy"] >= ref["accuracy"] - 0.05 - 1e-12           # within 5 points (QAT basis)
    assert result["chosen_by"] == "qat" and best["qat_accuracy"] == best["accuracy"]
    cfg = load_config(out / "best.yaml")                                 # hlsgen check-clean
    assert str(cfg.output_dir).endswith("_search")
    assert yaml.safe_load((out / "best.yaml").read_text()) == best["config"]
    evaluated = [c for c in result["candidates"] if c["accuracy"] is not None]
    assert len(evaluated) == result["evaluations"] > 1
    assert all(0 <= c["accuracy"] <= 1 for c in evaluated)
    front = [c for c in result["candidates"] if c["on_front"]]
    assert sorted(c["id"] for c in front) == sorted(result["front"]) and best["id"] in result["front"]
    assert [result["candidates"][i]["weight_bits"] for i in result["front"]] == sorted(c["weight_bits"] for c in front)
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the weight bits agree with the estimate's memory of the best config's types
    assert best["weight_bits"] == sum(n * int(t.split("<")[1].split(",")[0])
                                      for n, t in [(18, best["types"]["conv1"]["weight"]),
                                                   (2, best["types"]["conv1"]["bias"]),
                                                   (338 * 16, best["types"]["fc1"]["weight"]),
                                                   (16, best["types"]["fc1"]["bias"]),
                                                   (160, best["types"]["fc2"]["weight"]),
                                                   (10, best["types"]["fc2"]["bias"])])


@pytest.mark.slow
def test_two_workers_give_the_same_result(tiny):
    root, cfg, out = tiny
    out2 = search_command(cfg, workers=2, output=root / "out2", **RUN)
    assert _json(out2) == _json(out)
    assert (out2 / "best.yaml").read_text() == (out / "best.yaml").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dask scheduler exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"no Dask scheduler on 127.0.0.1:{port} after {timeout} s")


@pytest.mark.slow
def test_search_through_a_dask_scheduler_matches_the_local_run(tiny):
    from distributed import Client

    from hlsgen.search.task import heavy_modules

    root, cfg, out = tiny
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = root / "dask-logs"
    logs.mkdir(exist_ok=True)
    procs = []
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1",
                                       "--port", str(port), "--no-dashboard"], cwd=root,
                                      stdout=(logs / "scheduler.out").open("w"), stderr=subprocess.STDOUT))
        _wait_for_port(port, procs[0])
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nworkers", "1",
                                       "--nthreads", "1", "--no-dashboard"], cwd=root,
                                      stdout=(logs / "worker.out").open("w"), stderr=subprocess.STDOUT))
        remote = search_command(cfg, scheduler=address, output=root / "out-remote", **RUN)
        assert yaml.safe_load((remote / "best.yaml").read_text()) == yaml.safe_load((out / "best.yaml").read_text())
        assert _json(remote) == _json(out)
        with Client(address, timeout=10) as client:                 # the worker ran without TensorFlow
            assert list(client.run(heavy_modules).values()) == [[]]
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
