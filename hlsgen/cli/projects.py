"""The commands that read a generated project (or a report): each registers its own arguments and checks
them, and dispatches to the command's module."""

from __future__ import annotations

import argparse
import os

from hlsgen.cli.common import positive


def register_csim(sub) -> None:
    p = sub.add_parser("csim", help="run the project's C simulation (make csim) and compare with the golden model")
    p.add_argument("project", help="project directory written by hlsgen build")
    p.add_argument("-n", "--images", type=int, help="first N test images only (default: all)")
    p.add_argument("--trace", action="store_true", help="trace every layer and name the first that differs")
    p.add_argument("--top", choices=["axi"], help="simulate the AXI4-Stream top of a project built with hls.board "
                   "(make csim TOP=axi, g++)")
    p.set_defaults(func=_cmd_csim)


def _cmd_csim(args: argparse.Namespace) -> int:
    positive("-n/--images", args.images)
    from hlsgen.hls.runner import csim_command

    return csim_command(args.project, args.images, args.trace, top=args.top)


def register_rtl(sub) -> None:
    p = sub.add_parser("rtl", help="build the spec as RTL (da4ml -> Verilog), simulate it with Verilator and compare "
                       "every output code with tb_data, bit for bit")
    p.add_argument("project", help="project directory written by hlsgen build")
    p.add_argument("-n", "--images", type=int, help="first N test images only (default: all)")
    p.add_argument("--layers", action="store_true", help="each stage on its own against the golden trace; names "
                   "the first differing layer")
    p.add_argument("--synth", action="store_true", help="Yosys (synth_xilinx) counts per layer: LUT, FF, CARRY, DSP")
    p.add_argument("--jobs", type=int, help="stages traced, built and synthesized at once, and Verilator's "
                   "compile jobs (default: one per core)")
    p.set_defaults(func=_cmd_rtl)


def _cmd_rtl(args: argparse.Namespace) -> int:
    from pathlib import Path

    positive("-n", args.images)
    positive("--jobs", args.jobs)
    from hlsgen.rtl import rtl_command

    return rtl_command(Path(args.project), args.images, args.layers, args.synth, args.jobs or os.cpu_count() or 1,
                       debug=args.debug)


def register_synth(sub) -> None:
    p = sub.add_parser("synth", help="C synthesis with Vitis HLS (make synth), then the report summary")
    p.add_argument("project", help="project directory written by hlsgen build")
    p.set_defaults(func=_cmd_synth)


def _cmd_synth(args: argparse.Namespace) -> int:
    import shutil

    from hlsgen.errors import ToolMissingError
    from hlsgen.hls.runner import run_make
    from hlsgen.outdir import require_project

    project = require_project(args.project, "Makefile", "build_prj.tcl")
    if not (shutil.which("vitis_hls") or shutil.which("vitis-run")):
        raise ToolMissingError("Vitis HLS not found (neither vitis_hls nor vitis-run is on PATH); install Vitis "
                               "HLS 2022.2 or newer (hls4ml 1.3.0's Vitis backend: hls4ml docs/intro/setup.rst), "
                               f"or copy {project} as-is to a machine that has it")
    return 0 if run_make(project, "synth") == 0 else 1


def register_compare(sub) -> None:
    p = sub.add_parser("compare", help="compare the last simulation's outputs (make csim, or make cosim: the "
                       "RTL's) with the golden model")
    p.add_argument("project", help="project directory written by hlsgen build")
    p.add_argument("--trace", action="store_true", help="also compare the per-layer trace (TRACE=1 runs)")
    p.add_argument("--run-id", help="accept only the output of this run (make csim passes its own)")
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args: argparse.Namespace) -> int:
    from hlsgen.verify.compare import compare_project

    compare_project(args.project, trace=args.trace, run_id=args.run_id)
    return 0


def register_prove(sub) -> None:
    p = sub.add_parser("prove", help="prove which casts cannot overflow for any input in range; witnesses for "
                       "the others")
    p.add_argument("target", help="a project directory written by hlsgen build, or a config (its cached training)")
    p.add_argument("--json", action="store_true", help="print one JSON object (keys documented in README)")
    p.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                   help="seconds per cast for the witness search and the exact method (default 60)")
    p.set_defaults(func=_cmd_prove)


def _cmd_prove(args: argparse.Namespace) -> int:
    from hlsgen.analysis.command import prove_command

    return prove_command(args.target, args.json, args.time_limit)


def register_report(sub) -> None:
    p = sub.add_parser("report", help="summarize a Vivado/Vitis HLS synthesis report (csynth.xml), or Vivado's "
                       "utilization and timing reports (a folder such as a board project's board/reports)")
    p.add_argument("path", help="a project directory, a csynth.xml file, or a folder of Vivado reports")
    p.add_argument("--json", action="store_true", help="print one JSON object (keys documented in README)")
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    import json

    from hlsgen.synth import vivado
    from hlsgen.synth.report import format_report, parse_csynth

    if vivado.holds_reports(args.path):  # make bitstream's board/reports: utilization.rpt, timing_summary.rpt
        vrep = vivado.load_reports(args.path)
        print(json.dumps(vrep.to_json_dict(), indent=2) if args.json else vivado.format_report(vrep))
        return 0
    rep = parse_csynth(args.path)
    print(json.dumps(rep.to_json_dict(), indent=2) if args.json else format_report(rep))
    return 0
