"""The benchmark machinery (bench/): every script is run by `make bench-smoke`, the result files carry their
provenance, and docs/benchmarks.md's current tables are exactly what bench/tables.py renders from
bench/results/ (fixture results here: no benchmark is run)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

import benchlib  # noqa: E402
import tables  # noqa: E402

MACHINE = {"cpu": "AMD EPYC", "cores": 2, "memory_gib": 23.5, "simd": "avx2", "os": "Linux 6.18", "python": "3.11.7"}


def result(name: str, figures: dict, load: float = 0.5, mode: str = "full") -> dict:
    return {"benchmark": name, "mode": mode, "command": f"python bench/bench_{name}.py x",
            "date": "2026-12-04T15:00:00Z", "commit": "abc1234", "dirty": [], "machine": MACHINE,
            "versions": {"numpy": "1.26.4"},
            "load": {"before": [load, 1.0, 1.0], "after": [load, 1.0, 1.0]}, "seconds": 12.0, "figures": figures}


def timing(best: float, median: float) -> dict:
    return {"best_s": best, "median_s": median, "runs_s": [best, median]}


GOLDEN = {
    "project": "p", "images": 10000, "repeat": 3, "threads": 2,
    "golden": timing(0.05, 0.06), "golden_1thread": timing(0.08, 0.09),
    "qkeras": {"32": timing(0.6, 0.66), "256": timing(0.2, 0.25), "1000": timing(0.11, 0.12),
               "10000": timing(0.1, 0.13)},
    "qkeras_default_batch": 32, "qkeras_best_batch": 10000,
    "ratio": {"default_batch_best": 12.0, "default_batch_median": 11.0, "best_batch_best": 2.0,
              "best_batch_median": 2.17},
    "goal": {"default_batch_10x": True, "faster_than_best_batch": True},
    "argmax_agreement_qkeras": 10000, "golden_accuracy": 0.9611,
    "stages_ms": {"conv1": 30.1, "fc1": 7.0}, "hls4ml": {"compile_s": 20.5, "predict_s": 11.2, "same_as_golden": 10000},
}


def write_results(folder: Path, docs: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for doc in docs:
        (folder / f"{doc['benchmark']}.json").write_text(json.dumps(doc))
    return folder


def test_every_bench_script_runs_in_bench_smoke():
    """A script left out of bench-smoke could break unnoticed (issue 27: bench_golden.py did, for weeks)."""
    makefile = (BENCH / "bench.mk").read_text()
    recipe = makefile.split("\nbench-smoke:", 1)[1]
    scripts = sorted(p.name for p in BENCH.iterdir() if p.suffix in (".py", ".sh") and p.name != "benchlib.py")
    assert "bench_golden.py" in scripts and "compare_builds.sh" in scripts and "tables.py" in scripts
    missing = [s for s in scripts if f"bench/{s}" not in recipe]
    assert not missing, f"not run by make bench-smoke: {missing}"


def test_every_result_a_script_writes_has_a_section():
    written = sorted(re.findall(r'Run\("(\w+)"', "".join(p.read_text() for p in BENCH.glob("bench_*.py"))))
    assert written == sorted(name for name, *_ in tables.SECTIONS)


def test_golden_section_shows_both_ratios_from_one_run(tmp_path):
    text = tables.render(write_results(tmp_path / "r", [result("golden", GOLDEN)]))
    assert "12.0x faster than batch 32 (medians: 11.0x), 2.0x faster than its fastest batch (10,000" in text
    assert "met / met" in text
    # the table's last column is QKeras batch 32's best time over each row's best time
    assert "| golden model (numpy, exact, 2 threads) | 0.050 | 0.060 | 200,000 | 12.0x |" in text
    assert "| QKeras predict, batch 10,000 (its fastest here) | 0.100 | 0.130 | 100,000 | 6.0x |" in text
    assert "hls4ml predict == golden values on 10,000/10,000 images" in text
    assert "upper bound" not in text  # load 0.5 on 2 cores


def test_a_missed_goal_and_a_loaded_machine_are_said(tmp_path):
    figures = copy.deepcopy(GOLDEN)
    figures["goal"] = {"default_batch_10x": False, "faster_than_best_batch": True}
    text = tables.render(write_results(tmp_path / "r", [result("golden", figures, load=3.5)]))
    assert "**not met** / met" in text
    assert "load above its 2 cores): every time below is an upper bound" in text


def test_absent_results_are_not_invented(tmp_path):
    text = tables.render(write_results(tmp_path / "r", [result("golden", GOLDEN)]))
    for name in ("build", "rtl", "import", "search"):
        assert f"Not measured: no `{tmp_path / 'r' / name}.json`" in text


def test_smoke_results_never_reach_the_doc(tmp_path):
    folder = write_results(tmp_path / "r", [result("golden", GOLDEN, mode="smoke")])
    with pytest.raises(tables.ResultError, match="smoke result"):
        tables.render(folder)
    assert "Smoke run (make bench-smoke)" in tables.render(folder, allow_smoke=True)
    doc = tmp_path / "doc.md"
    doc.write_text(f"# B\n{tables.BEGIN}\nold\n{tables.END}\nhistory\n")
    assert tables.main(["--results", str(folder), "--doc", str(doc)]) == 2
    assert doc.read_text() == f"# B\n{tables.BEGIN}\nold\n{tables.END}\nhistory\n"


def test_unknown_or_mislabelled_result_files_are_refused(tmp_path):
    with pytest.raises(tables.ResultError, match="no section renders other.json"):
        tables.render(write_results(tmp_path / "a", [result("other", {})]))
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "golden.json").write_text(json.dumps(result("build", {})))
    with pytest.raises(tables.ResultError, match="holds benchmark 'build', not 'golden'"):
        tables.render(folder)
    (folder / "golden.json").write_text(json.dumps(result("golden", {"images": 5})))
    with pytest.raises(tables.ResultError, match="golden.json: no threads"):
        tables.render(folder)


def test_the_doc_block_is_replaced_and_the_history_kept(tmp_path):
    folder = write_results(tmp_path / "r", [result("golden", GOLDEN)])
    doc = tmp_path / "doc.md"
    doc.write_text(f"# Benchmarks\nintro\n{tables.BEGIN}\nstale figures\n{tables.END}\n## Session 1 (history)\n")
    assert tables.main(["--results", str(folder), "--doc", str(doc), "--check"]) == 1
    assert tables.main(["--results", str(folder), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert "stale figures" not in text and "12.0x faster than batch 32" in text
    assert text.startswith("# Benchmarks\nintro\n") and text.endswith(f"{tables.END}\n## Session 1 (history)\n")
    assert tables.main(["--results", str(folder), "--doc", str(doc), "--check"]) == 0


def test_docs_benchmarks_tables_are_the_committed_results():
    """docs/benchmarks.md's current tables are rendered from bench/results/, not typed."""
    assert tables.main(["--check"]) == 0


def test_a_result_records_where_when_and_how(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bench/bench_x.py", "--smoke"])
    run = benchlib.Run("x", Namespace(smoke=True, results=tmp_path))
    doc = json.loads(run.write({"seconds": 1.5}).read_text())
    assert doc["benchmark"] == "x" and doc["mode"] == "smoke" and doc["figures"] == {"seconds": 1.5}
    assert doc["command"].startswith("python ") and doc["command"].endswith("bench_x.py --smoke")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["date"])
    assert doc["machine"]["cores"] >= 1 and doc["versions"]["numpy"]
    assert len(doc["load"]["before"]) == 3 and len(doc["load"]["after"]) == 3
    assert re.fullmatch(r"[0-9a-f]{7,}", doc["commit"])


def test_bench_make_targets_refuse_a_path_with_shell_characters(tmp_path):
    marker = tmp_path / "pwned"
    for var in ("SMOKE_OUT", "BENCH_OUT", "BENCH_PROJECT"):
        res = subprocess.run(["make", "--no-print-directory", "bench-smoke", f"{var}=x;touch {marker}"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 2, res.stderr
        assert "refusing the path" in res.stderr and not marker.exists()
