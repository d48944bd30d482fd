"""The ``hlsgen`` command: parses arguments, runs one subcommand, maps errors to exit codes."""

from __future__ import annotations

import argparse
import os
import sys

from hlsgen import __version__
from hlsgen.errors import HlsgenError

LAST_BUILD_FILE = ".hlsgen-last-build"


class _Parser(argparse.ArgumentParser):
    """argparse with hlsgen's error format: one line, ``hlsgen: error: ...`` (the subcommand named), exit 2;
    ``--help`` still prints the usage."""

    def error(self, message: str):
        where = self.prog.removeprefix("hlsgen").strip()
        message = message if len(message) <= 200 else message[:197] + "..."  # argparse quotes values in full
        print(f"hlsgen: error: {where + ': ' if where else ''}{message} (see 'hlsgen {where + ' ' if where else ''}"
              "--help')", file=sys.stderr)
        sys.exit(2)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hlsgen",
        description="Keras CNN -> QKeras QAT -> hls4ml Vitis HLS project, checked bit for bit "
        "against a numpy golden model.",
    )
    parser.add_argument("--version", action="version", version=f"hlsgen {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("check", help="validate a config and print it resolved (defaults, derived types)")
    p.add_argument("config", help="YAML config file")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("import", help="a trained Keras/QKeras model -> a complete config whose train.init is its "
                       "weights")
    p.add_argument("model", help="Keras 2 model (.h5, .keras) or a JSON architecture (with --weights)")
    p.add_argument("--output", required=True, metavar="CONFIG.yaml",
                   help="config to write; the model is copied next to it")
    p.add_argument("--weights", help="weights (.h5) for a JSON architecture")
    p.add_argument("--bits", type=int, default=8, help="width of types not fixed by QKeras quantizers (default 8)")
    p.add_argument("--images", type=int, default=2000, help="training images to profile (default 2000)")
    p.add_argument("--input-scale", type=int, choices=(255, 256),
                   help="the model was trained on pixel/255 or pixel/256 (default 255, as Keras' MNIST examples)")
    p.add_argument("--force", action="store_true", help="replace an existing CONFIG.yaml or model copy")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("train", help="train float and QAT models; report float, PTQ, QAT and golden accuracy")
    p.add_argument("config", help="YAML config file")
    p.add_argument("--output", help="output directory (default: the config's output_dir)")
    p.add_argument("--epochs", type=int, help="override train.epochs")
    p.add_argument("--force", action="store_true", help="replace an output directory hlsgen did not create")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("build", help="train (or reuse), export the spec and write the Vitis HLS project")
    p.add_argument("config", help="YAML config file")
    p.add_argument("--output", help="project directory (default: the config's output_dir)")
    p.add_argument("--epochs", type=int, help="override train.epochs")
    p.add_argument("--images", type=int, help="test images in tb_data (default: all)")
    p.add_argument("--force", action="store_true", help="replace a directory hlsgen did not create")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("profile", help="per-layer value ranges, the integer bits each type needs, and the "
                       "accuracy they buy; optionally write the profiled config")
    p.add_argument("config", help="YAML config file")
    p.add_argument("--images", type=int, default=2000, help="training images to profile (default 2000)")
    p.add_argument("--test-images", type=int, help="test images for the accuracy sweeps (default: all)")
    p.add_argument("--saturation", type=float, default=0.0,
                   help="fraction of profiled values allowed to saturate when choosing I (default 0)")
    p.add_argument("--apply", metavar="OUT.yaml", help="write a complete config with the profiled precision")
    p.add_argument("--output", help="directory for the results (default: <output_dir>-profile)")
    p.add_argument("--epochs", type=int, help="override train.epochs when the float model must be trained")
    p.add_argument("--force", action="store_true", help="replace an existing OUT.yaml or output directory")
    p.set_defaults(func=_cmd_profile)

    p = sub.add_parser("csim", help="run the project's C simulation (make csim) and compare with the golden model")
    p.add_argument("project", help="project directory written by hlsgen build")
    p.add_argument("-n", "--images", type=int, help="first N test images only (default: all)")
    p.add_argument("--trace", action="store_true", help="trace every layer and name the first that differs")
    p.add_argument("--top", choices=["axi"], help="simulate the AXI4-Stream top of a project built with hls.board "
                   "(make csim TOP=axi, g++)")
    p.set_defaults(func=_cmd_csim)

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

    p = sub.add_parser("synth", help="C synthesis with Vitis HLS (make synth), then the report summary")
    p.add_argument("project", help="project directory written by hlsgen build")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("compare", help="compare the last simulation's outputs (make csim, or make cosim: the "
                       "RTL's) with the golden model")
    p.add_argument("project", help="project directory written by hlsgen build")
    p.add_argument("--trace", action="store_true", help="also compare the per-layer trace (TRACE=1 runs)")
    p.add_argument("--run-id", help="accept only the output of this run (make csim passes its own)")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("prove", help="prove which casts cannot overflow for any input in range; witnesses for "
                       "the others")
    p.add_argument("target", help="a project directory written by hlsgen build, or a config (its cached training)")
    p.add_argument("--json", action="store_true", help="print one JSON object (keys documented in README)")
    p.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                   help="seconds per cast for the witness search and the exact method (default 60)")
    p.set_defaults(func=_cmd_prove)

    p = sub.add_parser("search", help="the narrowest weight/bias/result widths per layer within --max-drop points "
                       "of the config's accuracy (PTQ through the golden model on Dask, best confirmed by QAT)")
    p.add_argument("config", help="YAML config file")
    p.add_argument("--max-drop", type=float, default=0.5, help="accuracy budget in percentage points (default 0.5)")
    p.add_argument("--bits", default="2..8", help="widths to try, LO..HI (default 2..8)")
    p.add_argument("--workers", type=int, help="Dask workers of the local cluster (default: one per core)")
    p.add_argument("--scheduler", help="a Dask scheduler's address (tcp://host:8786) instead of a local cluster")
    p.add_argument("--qat-epochs", type=int, default=3, help="fine-tune epochs confirming the best (0: PTQ only)")
    p.add_argument("--test-images", type=int, help="test images per evaluation (default: all)")
    p.add_argument("--output", help="output directory (default: <output_dir>-search)")
    p.add_argument("--force", action="store_true", help="replace an output directory hlsgen did not create")
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("estimate", help="pre-synthesis estimate: MACs, multipliers, memory, BRAM and latency bounds")
    p.add_argument("config", help="YAML config file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_estimate)

    p = sub.add_parser("report", help="summarize a Vivado/Vitis HLS synthesis report (csynth.xml), or Vivado's "
                       "utilization and timing reports (a folder such as a board project's board/reports)")
    p.add_argument("path", help="a project directory, a csynth.xml file, or a folder of Vivado reports")
    p.add_argument("--json", action="store_true", help="print one JSON object (keys documented in README)")
    p.set_defaults(func=_cmd_report)
    return parser


def _cmd_check(args: argparse.Namespace) -> int:
    from hlsgen.config import load_config

    cfg = load_config(args.config)
    sys.stdout.write(cfg.resolved_yaml())
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from hlsgen.importer.options import check_options

    check_options(args.bits, args.images, args.input_scale)
    from hlsgen.importer import import_command  # TensorFlow: slow

    import_command(args.model, args.output, args.weights, args.bits, args.images, args.input_scale, args.force)
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hlsgen.config import load_config

    cfg = load_config(args.config)
    _positive("--epochs", args.epochs)
    _output_path(args.output)
    from hlsgen.train import train_command

    train_command(cfg, Path(args.output) if args.output else None, args.epochs, args.force)
    return 0


def _output_path(output: str | None) -> None:
    """Refuse a bad --output before TensorFlow is even imported."""
    if output:
        from hlsgen.outdir import validate_output_path

        validate_output_path(output)


def _positive(name: str, value: int | None) -> None:
    from hlsgen.errors import UsageError

    if value is not None and value < 1:
        raise UsageError(f"{name}: must be >= 1, got {value}")


def _cmd_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hlsgen.build import build_command
    from hlsgen.config import load_config

    cfg = load_config(args.config)
    _positive("--epochs", args.epochs)
    _positive("--images", args.images)
    target = build_command(cfg, Path(args.output) if args.output else None, args.force, args.epochs, args.images)
    Path(LAST_BUILD_FILE).write_text(str(target) + "\n")  # what the top-level `make csim` forwards to
    return 0


def _cmd_profile(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hlsgen.config import load_config

    cfg = load_config(args.config)
    _positive("--images", args.images)
    _positive("--test-images", args.test_images)
    _positive("--epochs", args.epochs)
    _output_path(args.output)
    if not 0.0 <= args.saturation < 1.0:
        from hlsgen.errors import UsageError

        raise UsageError(f"--saturation: a fraction in [0, 1) is expected, got {args.saturation}")
    from hlsgen.profile.command import profile_command  # TensorFlow: slow

    profile_command(cfg, args.images, args.test_images, args.saturation, Path(args.output) if args.output else None,
                    Path(args.apply) if args.apply else None, args.force, args.epochs)
    return 0


def _cmd_csim(args: argparse.Namespace) -> int:
    _positive("-n/--images", args.images)
    from hlsgen.hls.runner import csim_command

    return csim_command(args.project, args.images, args.trace, top=args.top)


def _cmd_rtl(args: argparse.Namespace) -> int:
    from pathlib import Path

    _positive("-n", args.images)
    _positive("--jobs", args.jobs)
    from hlsgen.rtl import rtl_command

    return rtl_command(Path(args.project), args.images, args.layers, args.synth, args.jobs or os.cpu_count() or 1,
                       debug=args.debug)


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


def _cmd_compare(args: argparse.Namespace) -> int:
    from hlsgen.verify.compare import compare_project

    compare_project(args.project, trace=args.trace, run_id=args.run_id)
    return 0


def _cmd_prove(args: argparse.Namespace) -> int:
    from hlsgen.analysis.command import prove_command

    return prove_command(args.target, args.json, args.time_limit)


def _cmd_search(args: argparse.Namespace) -> int:
    from hlsgen.search.command import parse_bits, search_command

    _output_path(args.output)  # search_command checks its other arguments itself
    search_command(args.config, max_drop=args.max_drop, bits=parse_bits(args.bits), workers=args.workers,
                   scheduler=args.scheduler, output=args.output, force=args.force, qat_epochs=args.qat_epochs,
                   test_images=args.test_images)
    return 0


def _cmd_estimate(args: argparse.Namespace) -> int:
    import json

    from hlsgen.config import load_config
    from hlsgen.spec.lower import lower_with_settings
    from hlsgen.synth.estimate import estimate
    from hlsgen.synth.estimate_format import estimate_json, format_estimate

    est = estimate(*lower_with_settings(load_config(args.config)))
    print(json.dumps(estimate_json(est), indent=2) if args.json else format_estimate(est))
    return 0


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


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 mismatch, 2 bad input, 3 missing tool)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return _interrupted()
    except HlsgenError as err:
        if _caused_by_interrupt(err):
            return _interrupted()
        if args.debug:
            raise
        print(f"hlsgen: error: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:  # `hlsgen ... | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 0
    except Exception as err:
        # TensorFlow turns a Ctrl-C during import or training into a SystemError (or other) whose cause
        # or context is the KeyboardInterrupt: still an interrupt, not a traceback
        if _caused_by_interrupt(err):
            return _interrupted()
        raise


def _caused_by_interrupt(err: BaseException) -> bool:
    """Whether a KeyboardInterrupt is in ``err``'s chain of causes and contexts."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, KeyboardInterrupt):
            return True
        todo += [e.__cause__, e.__context__]
    return False


def _interrupted() -> int:
    print("hlsgen: interrupted", file=sys.stderr)
    return 130


if __name__ == "__main__":
    sys.exit(main())
