"""``hlsgen rtl PROJECT``: the project's spec built as RTL and simulated with Verilator, bit for bit
against the build's ``tb_data/expected.txt`` (whole network) or stage by stage against the golden
model's trace (``--layers``), whose last stage must still give ``expected.txt``."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from hlsgen import golden
from hlsgen.errors import HlsgenError, UsageError
from hlsgen.rtl import tools
from hlsgen.rtl.build import BuiltModel, Timings, Unit, build_unit, load_or_trace, stage_units, unit_dir, written_intact
from hlsgen.rtl.compose import NETWORK, write_network
from hlsgen.spec import HardwareSpec
from hlsgen.verify.derive import check_project
from hlsgen.verify.evidence import MANIFEST, parse_codes


def _log(message: str) -> None:
    print(message, flush=True)


def read_tb_data(project: Path, spec: HardwareSpec, n: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` (default all) input and expected output code lines of ``project/tb_data``: when the
    project has a manifest, checked and derived from the spec (:func:`hlsgen.verify.derive.check_project`:
    the build id is the spec's, the expected outputs are the golden model's)."""
    tb = project / "tb_data"
    n_in, n_out = math.prod(spec.input_shape), math.prod(spec.output_shape)
    if (tb / MANIFEST).is_file():
        ev = check_project(project, firmware=False)
        inputs, expected = ev.inputs, ev.expected
    else:
        files = []
        for name, width, t in (("inputs.txt", n_in, spec.input_t), ("expected.txt", n_out, spec.output_t)):
            try:
                data = (tb / name).read_bytes()
            except OSError as err:
                raise UsageError(f"{tb / name}: cannot read ({err.strerror})") from None
            files.append(parse_codes(tb / name, data, None, width, t))
        inputs, expected = files
        if len(inputs) != len(expected):
            raise UsageError(f"{tb}: {len(inputs)} input lines but {len(expected)} expected lines")
    total = len(inputs)
    if total == 0:
        raise UsageError(f"{tb}: no test images")
    if n is not None and not 1 <= n <= total:
        raise UsageError(f"rtl: -n {n}: the project has {total} test images")
    n = total if n is None else n
    return inputs[:n], expected[:n]


def _first_difference(got: np.ndarray, want: np.ndarray) -> tuple[int, int] | None:
    bad = np.argwhere(got.reshape(len(got), -1) != want.reshape(len(want), -1))
    return None if bad.size == 0 else (int(bad[0][0]), int(bad[0][1]))


def _compare(what: str, got: np.ndarray, want: np.ndarray) -> str | None:
    """None when equal, else a line naming the count and the first differing image and output."""
    first = _first_difference(got, want)
    if first is None:
        return None
    g, w = got.reshape(len(got), -1), want.reshape(len(want), -1)
    images = int(np.count_nonzero((g != w).any(axis=1)))
    i, j = first
    return (f"{what}: {images} of {len(g)} images differ ({int(np.count_nonzero(g != w))} output codes); first: "
            f"image {i}, output {j}: expected {int(w[i, j])}, RTL {int(g[i, j])}")


def rtl_command(project: Path, n: int | None = None, layers: bool = False, synth: bool = False,
                jobs: int = 1, debug: bool = False) -> int:
    """Build the project's spec as RTL, simulate the first ``n`` test images with Verilator, and compare.

    Returns the exit code: 0 every output code equal; 1 a mismatch (the first differing image and
    output, and with ``layers`` the first differing stage, are printed); 2 a bad project or a spec the
    RTL flow refuses (one line naming the stage and mode); 3 a missing tool. ``debug`` prints the Verilator
    warnings that generated code gives when it is correct (unused input bits, ...; :mod:`.verilate`).
    """
    try:
        return _run(Path(project), n, layers, synth, max(1, int(jobs)), debug)
    except HlsgenError as err:
        print(f"hlsgen: error: {err}", file=sys.stderr, flush=True)
        return err.exit_code


def _run(project: Path, n: int | None, layers: bool, synth: bool, jobs: int, debug: bool = False) -> int:
    spec = HardwareSpec.load(project)
    inputs, expected = read_tb_data(project, spec, n)
    tools.require_da4ml()
    version = tools.verilator_version()
    root = project / "rtl"
    root.mkdir(exist_ok=True)
    inputs = inputs.reshape(len(inputs), *spec.input_shape)
    trace_all(stage_units(spec), root, jobs)  # every refusal before the first (minutes-long) build
    if layers:
        output, ok = _layers(spec, inputs, root, jobs, debug)
    else:
        t = Timings()
        model, path = write_network(spec, root, _log, t)
        network = BuiltModel(NETWORK, model, path, spec.input_t, spec.output_t, jobs, _log, t, debug)
        output = network.run(inputs)
        how = "cached build" if t.cached else f"build {t.build:.1f} s"
        _log(f"rtl: network: {len(stage_units(spec))} stages, {network.operations} operations ({how}), "
             f"simulation of {len(inputs)} images {t.simulate:.2f} s")
        ok = True
    problem = _compare("rtl: output vs tb_data/expected.txt", output, expected)
    good = len(expected) - (0 if problem is None else int(np.count_nonzero(
        (output.reshape(len(output), -1) != expected.reshape(len(expected), -1)).any(axis=1))))
    _log(f"rtl: {good}/{len(expected)} images bit-exact ({version})")
    if problem is not None:
        _log(problem)
    status = 0 if problem is None and ok else 1
    if synth:
        from hlsgen.rtl.synth import synth_report

        synth_report(spec, root, jobs, _log)
    return status


def _cost(unit: Unit) -> int:
    stage = unit.stages[0]
    return 0 if stage.weight_codes is None else int(stage.weight_codes.size)


def trace_all(units: list[Unit], root: Path, jobs: int) -> None:
    """Trace (or find in the cache) every unit, cheapest first, before anything is built, so that a
    refused stage is named in seconds; with ``jobs`` > 1 in that many worker processes."""
    units = sorted((u for u in units if not written_intact(unit_dir(u, root))), key=_cost)
    if jobs == 1 or len(units) < 2:
        for u in units:
            load_or_trace(u, root, _log)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=min(jobs, len(units))) as pool:
        futures = [pool.submit(_trace_in_worker, u, root) for u in units]
        try:
            for future in as_completed(futures):
                future.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _trace_in_worker(unit: Unit, root: Path) -> None:
    load_or_trace(unit, root, _log)


def _layers(spec: HardwareSpec, inputs: np.ndarray, root: Path, jobs: int,
            debug: bool = False) -> tuple[np.ndarray, bool]:
    """Each stage built alone (``jobs`` Verilator builds at a time), fed the golden trace of the stage
    before it (the inputs for the first), compared with the trace of its own output; returns the last
    stage's RTL output and whether every stage was equal."""
    from concurrent.futures import ThreadPoolExecutor

    units = {u.name: u for u in stage_units(spec)}
    def build(unit):
        return build_unit(unit, root, jobs, _log, debug)

    # the first build alone: it compiles Verilator's runtime, which the others then reuse (verilate.py);
    # Verilator and g++ run as subprocesses: threads build the other stages several at once
    first, *rest = units.values()
    built = {first.name: build(first)}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        built.update(zip((u.name for u in rest), pool.map(build, rest), strict=True))
    result = golden.run(spec, inputs)
    previous = inputs.reshape(len(inputs), -1)
    first_bad: str | None = None
    output = None
    for stage in spec.stages:
        want = result.trace[stage.name].reshape(len(inputs), -1)
        if stage.kind == "flatten":
            got = previous  # a reshape: no logic
            line = f"rtl: {stage.name} (flatten): no logic, outputs"
        else:
            unit = built[stage.name]
            got = unit.run(previous)
            t = unit.timings
            how = "cached build" if t.cached else f"build {t.build:.1f} s"
            line = (f"rtl: {stage.name} ({stage.kind}): {got.shape[1]} outputs x {len(got)} images "
                    f"({how}, simulation {t.simulate:.2f} s, {unit.operations} operations)")
        problem = _compare(f"rtl: {stage.name} ({stage.kind})", got, want)
        _log(line + (" equal" if problem is None else " DIFFERENT"))
        if problem is not None:
            _log(problem)
            first_bad = first_bad or stage.name
        previous, output = want, got
    if first_bad:
        _log(f"rtl: first differing layer: {first_bad}")
    return output, first_bad is None
