"""Fake Vitis HLS for tests (no Vitis here): ``vitis_hls``, ``vitis-run`` and ``v++`` behave like the real
tools where the generated project depends on it, and record what they were asked to do.

- C simulation (UG1399 "Output of C Simulation"): a fresh ``<solution>/csim/build`` folder; only the
  ``tb.file`` / ``add_files -tb`` entries are copied into it (by their base name: ``firmware/weights`` ->
  ``weights``); every syn and tb source is compiled with exactly the flags it was given plus hls4ml's
  ap_types as "the tool's own headers" (a ``-I...ap_types`` in the flags is refused: those open-source
  headers are not Vitis'); ``csim.exe`` runs in that folder with the csim argv. A nonzero exit fails the step.
- C synthesis: ``<solution>/syn/report/csynth.xml`` (a small report ``hlsgen report`` reads) and
  ``syn/verilog``. C/RTL co-simulation needs it; so does export. There is no RTL: the "RTL run" is the
  testbench again, in ``sim/wrapc_pc`` (after a C-model run in ``sim/wrapc``), with the tb flags as given
  (the Tcl flow's ``-DRTL_SIM``) and the cosim argv (the cfg's ``--rtl``); ``sim/report/<top>_cosim.rpt``
  says Pass when it exits 0 (``FAKE_COSIM_STATUS`` overrides; ``FAKE_COSIM_IMAGES`` makes the
  "RTL" simulate that many images whatever it was asked).
- ``FAKE_VITIS_LOG`` (default ``fake_vitis.log`` in the working directory) gets one line per request:
  tool, version, project/solution opens with their reset option, and every step.
- Versions: ``FAKE_VITIS_VERSION`` (default 2023.2) answers ``vitis_hls -version``, ``v++ --version``.
- Object files are cached in ``FAKE_VITIS_CACHE`` (keyed by source text and flags) to keep tests fast.

The Tcl flow is hls4ml's real ``build_prj.tcl`` run by ``tclsh`` with the Vitis commands stubbed
(``stubs.tcl``); its steps call back into this module (``python3 fakevitis.py STEP ...``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def version() -> str:
    return os.environ.get("FAKE_VITIS_VERSION", "2023.2")


def log(line: str) -> None:
    with open(os.environ.get("FAKE_VITIS_LOG", "fake_vitis.log"), "a") as fh:
        fh.write(line + "\n")


def fail(message: str) -> int:
    print(f"ERROR: [fake vitis] {message}", file=sys.stderr)
    log(f"error {message}")
    return 1


def ap_types() -> str:
    path = os.environ.get("FAKE_VITIS_AP_TYPES")
    if not path:
        import importlib.util

        spec = importlib.util.find_spec("hls4ml")
        if spec is None or spec.origin is None:
            raise SystemExit("fake vitis: set FAKE_VITIS_AP_TYPES (hls4ml's templates/vivado/ap_types)")
        path = str(Path(spec.origin).parent / "templates" / "vivado" / "ap_types")
    return path


def check_flags(flags: str) -> None:
    for word in flags.split():
        if word.startswith("-I") and "ap_types" in word:
            raise ValueError(f"refusing '{word}': Vitis compiles with its own ap_types headers, not a project's copy")


def compile_and_link(root: Path, sources: list[tuple[str, str]], exe: Path) -> None:
    """g++ each (path, flags) source as Vitis would (its headers first), then link ``exe``."""
    cache = Path(os.environ.get("FAKE_VITIS_CACHE", root / ".fake_vitis_cache"))
    cache.mkdir(parents=True, exist_ok=True)
    objects = []
    for path, flags in sources:
        check_flags(flags)
        src = root / path
        key = hashlib.sha256(src.read_bytes() + flags.encode() + str(sorted(
            (p.name, p.stat().st_mtime_ns) for p in (root / "firmware").rglob("*.h"))).encode()).hexdigest()[:20]
        obj = cache / f"{src.stem}-{key}.o"
        if not obj.exists():
            cmd = ["g++", "-w", "-O1", *flags.split(), "-I", ap_types(), "-c", str(src), "-o", str(obj)]
            res = subprocess.run(cmd, cwd=root)
            if res.returncode != 0:
                raise RuntimeError(f"compilation of {path} failed")
        objects.append(str(obj))
    exe.parent.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["g++", *objects, "-o", str(exe)]).returncode != 0:
        raise RuntimeError("link failed")


def copy_tb_entries(root: Path, entries: list[str], folder: Path) -> None:
    for entry in entries:
        src = root / entry
        dst = folder / src.name
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.exists():
            shutil.copy2(src, dst)
        else:
            raise FileNotFoundError(f"tb file {entry} does not exist")


def sources_of(syn: list[tuple[str, str]], tb: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(p, f) for p, f in syn if p.endswith((".cpp", ".cc", ".c"))] + \
           [(p, f) for p, f in tb if p.endswith((".cpp", ".cc", ".c"))]


def csim(root: Path, sol: Path, syn, tb, argv: str) -> int:
    build = sol / "csim" / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    try:
        copy_tb_entries(root, [p for p, _ in tb], build)
        compile_and_link(root, sources_of(syn, tb), build / "csim.exe")
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        return fail(f"csim: {err}")
    rc = subprocess.run(["./csim.exe", *argv.split()], cwd=build).returncode
    log(f"csim argv={argv!r} rc={rc}")
    if rc != 0:
        return fail(f"csim: main() returned {rc}")
    return 0


def synth(root: Path, sol: Path, top: str, part: str = "xc7z020clg400-1") -> int:
    report = sol / "syn" / "report"
    report.mkdir(parents=True, exist_ok=True)
    (sol / "syn" / "verilog").mkdir(parents=True, exist_ok=True)
    (sol / "syn" / "verilog" / f"{top}.v").write_text(f"// fake RTL of {top}\n")
    (report / "csynth.xml").write_text(CSYNTH.format(version=version(), part=part, top=top))
    log("synth")
    return 0


def cosim_setup(root: Path, sol: Path, top: str, syn, tb, argv: str) -> int:
    if not (sol / "syn" / "report" / "csynth.xml").exists():
        return fail("cosim: no synthesis results: run C synthesis first")
    sim = sol / "sim"
    try:
        for where in ("wrapc", "wrapc_pc"):
            shutil.rmtree(sim / where, ignore_errors=True)
            (sim / where).mkdir(parents=True)
            copy_tb_entries(root, [p for p, _ in tb], sim / where)
        compile_and_link(root, sources_of(syn, tb), sim / "wrapc_pc" / "cosim.pc.exe")
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        return fail(f"cosim: {err}")
    verilog = sim / "verilog"
    verilog.mkdir(parents=True, exist_ok=True)
    (verilog / f"{top}.tcl").write_text("log_wave -r /\nrun all\nquit\n")
    (verilog / "run_sim.tcl").write_text(f"fake_cosim_run {{{argv}}}\n")
    log(f"cosim_setup tb_flags={[f for _, f in tb if f]!r}")
    return 0


def cosim_run(root: Path, sol: Path, top: str, argv: str) -> int:
    sim = sol / "sim"
    env = dict(os.environ)
    if os.environ.get("FAKE_COSIM_IMAGES"):
        env["HLSGEN_CSIM_N"] = os.environ["FAKE_COSIM_IMAGES"]
    shutil.copy2(sim / "wrapc_pc" / "cosim.pc.exe", sim / "wrapc" / "csim.exe")
    subprocess.run(["./csim.exe", *argv.split()], cwd=sim / "wrapc", env=env, stdout=subprocess.DEVNULL)
    rc = subprocess.run(["./cosim.pc.exe", *argv.split()], cwd=sim / "wrapc_pc", env=env).returncode
    status = os.environ.get("FAKE_COSIM_STATUS") or ("Pass" if rc == 0 else "Fail")
    (sim / "report").mkdir(parents=True, exist_ok=True)
    (sim / "report" / f"{top}_cosim.rpt").write_text(COSIM_REPORT.format(top=top, status=status))
    log(f"cosim_run argv={argv!r} rc={rc} status={status}")
    return 0


def export(root: Path, sol: Path, top: str) -> int:
    if not (sol / "syn" / "report" / "csynth.xml").exists():
        return fail("export: no synthesis results: run C synthesis first")
    (sol / "impl" / "ip").mkdir(parents=True, exist_ok=True)
    (sol / "impl" / "ip" / "component.xml").write_text(f"<!-- fake IP of {top} -->\n")
    log("export")
    return 0


# ----------------------------------------------------------------------------------------- the cfg flow

def read_cfg(path: Path) -> dict:
    """hls_config.cfg: part, [hls] keys; repeated keys (syn.file, tb.file, *_cflags) collected in order."""
    cfg: dict = {"syn": [], "tb": [], "flags": {}}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("["):
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key in ("syn.file", "tb.file"):
            cfg[key.split(".")[0]].append(value)
        elif key in ("syn.file_cflags", "tb.file_cflags"):
            file, _, flags = value.partition(",")
            cfg["flags"][file] = (cfg["flags"].get(file, "") + " " + flags).strip()
        else:
            cfg[key] = value
    return cfg


def main_cfg(tool: str, args: list[str]) -> int:
    step = next((a[2:] for a in args if a in ("--csim", "--cosim", "--package")), "synth" if tool == "v++" else None)
    if "--tcl" in args:
        return run_tcl(args[args.index("--tcl") + 1], tool)
    if step is None or "--config" not in args or "--work_dir" not in args:
        return fail(f"{tool}: unsupported arguments {args}")
    root = Path.cwd()
    cfg = read_cfg(root / args[args.index("--config") + 1])
    work = root / args[args.index("--work_dir") + 1]
    sol = work / "hls"
    top = cfg["syn.top"]
    syn = [(p, cfg["flags"].get(p, "")) for p in cfg["syn"]]
    tb = [(p, cfg["flags"].get(p, "")) for p in cfg["tb"]]
    log(f"{tool} {version()} cfg {step} work_dir={work.name}")
    if step == "csim":
        return csim(root, sol, syn, tb, cfg.get("csim.argv", ""))
    if step == "synth":
        return synth(root, sol, top, cfg.get("part", ""))
    if step == "cosim":
        rc = cosim_setup(root, sol, top, syn, tb, cfg.get("cosim.argv", ""))
        return rc or cosim_run(root, sol, top, cfg.get("cosim.argv", ""))
    return export(root, sol, top)


def run_tcl(script: str, tool: str) -> int:
    log(f"{tool} {version()} tcl {script}")
    return subprocess.run(["tclsh", str(HERE / "stubs.tcl"), script]).returncode


def main_vitis_hls(args: list[str]) -> int:
    if args[:1] in (["-version"], ["--version"]):
        print(f"vitis_hls v{version()} (64-bit) [fake]")
        return 0
    if args[:1] == ["-p"]:
        log(f"vitis_hls gui -p {args[1]}")
        return 0
    if args[:1] == ["-f"]:
        return run_tcl(args[1], "vitis_hls")
    return fail(f"vitis_hls: unsupported arguments {args}")


def main_tool(tool: str, args: list[str]) -> int:
    if args[:1] in (["-v"], ["--version"]):
        print(f"{tool} v{version()} (64-bit) [fake]")
        return 0
    return main_cfg(tool, args)


def main_step(args: list[str]) -> int:
    """Called by stubs.tcl: STEP ROOT SOLUTION TOP FILELIST [ARGV]; FILELIST lines 'syn|tb<TAB>path<TAB>flags'."""
    step, root, sol, top, filelist, *rest = args
    argv = rest[0] if rest else ""
    root_p = Path(root)
    syn, tb = [], []
    for line in Path(filelist).read_text().splitlines():
        kind, path, flags = (line.split("\t") + ["", ""])[:3]
        (syn if kind == "syn" else tb).append((path, flags))
    sol_p = root_p / sol
    if step == "csim":
        return csim(root_p, sol_p, syn, tb, argv)
    if step == "synth":
        return synth(root_p, sol_p, top, os.environ.get("FAKE_PART", "xc7z020clg400-1"))
    if step == "cosim_setup":
        return cosim_setup(root_p, sol_p, top, syn, tb, argv)
    if step == "cosim_run":
        return cosim_run(root_p, sol_p, top, argv)
    if step == "export":
        return export(root_p, sol_p, top)
    return fail(f"unknown step {step}")


CSYNTH = """<profile>
<ReportVersion><Version>{version}</Version></ReportVersion>
<UserAssignments><unit>ns</unit><Part>{part}</Part><TopModelName>{top}</TopModelName>
<TargetClockPeriod>10.00</TargetClockPeriod><ClockUncertainty>2.70</ClockUncertainty></UserAssignments>
<PerformanceEstimates><PipelineType>dataflow</PipelineType>
<SummaryOfTimingAnalysis><unit>ns</unit><EstimatedClockPeriod>7.000</EstimatedClockPeriod></SummaryOfTimingAnalysis>
<SummaryOfOverallLatency><unit>clock cycles</unit><Best-caseLatency>6084</Best-caseLatency>
<Worst-caseLatency>6084</Worst-caseLatency><Interval-min>6085</Interval-min><Interval-max>6085</Interval-max>
</SummaryOfOverallLatency></PerformanceEstimates>
<AreaEstimates><Resources><BRAM_18K>1</BRAM_18K><DSP>1</DSP><FF>1</FF><LUT>1</LUT><URAM>0</URAM></Resources>
<AvailableResources><BRAM_18K>280</BRAM_18K><DSP>220</DSP><FF>106400</FF><LUT>53200</LUT><URAM>0</URAM>
</AvailableResources></AreaEstimates>
</profile>
"""

COSIM_REPORT = """================================================================
== Vitis HLS Report for '{top}' (fake: tests/hls/fake_tools)
================================================================
+----------+----------+-----------------------------------------------+
|          |          |             Latency(Clock Cycles)             |
+   RTL    +  Status  +-----------------------------------------------+
|          |          |      min      |      avg      |      max      |
+----------+----------+-----------------------------------------------+
|      VHDL|        NA|             NA|             NA|             NA|
|   Verilog|{status:>10}|           6084|           6084|           6084|
+----------+----------+-----------------------------------------------+
"""


def main(tool: str, args: list[str]) -> int:
    if tool == "fakevitis.py":
        return main_step(args)
    return main_vitis_hls(args) if tool == "vitis_hls" else main_tool(tool, args)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[0]).name, sys.argv[1:]))
