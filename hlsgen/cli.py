"""The ``hlsgen`` command: parses arguments, runs one subcommand, maps errors to exit codes."""

from __future__ import annotations

import argparse
import sys

from hlsgen import __version__
from hlsgen.errors import HlsgenError


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hlsgen",
        description="Keras CNN -> QKeras QAT -> hls4ml Vitis HLS project, checked bit for bit "
        "against a numpy golden model.",
    )
    parser.add_argument("--version", action="version", version=f"hlsgen {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("check", help="validate a config and print it resolved (defaults, derived types)")
    p.add_argument("config", help="YAML config file")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("train", help="train float and QAT models; report float, PTQ, QAT and golden accuracy")
    p.add_argument("config", help="YAML config file")
    p.add_argument("--output", help="output directory (default: the config's output_dir)")
    p.add_argument("--epochs", type=int, help="override train.epochs")
    p.add_argument("--force", action="store_true", help="replace an output directory hlsgen did not create")
    p.set_defaults(func=_cmd_train)
    return parser


def _cmd_check(args: argparse.Namespace) -> int:
    from hlsgen.config import load_config

    cfg = load_config(args.config)
    sys.stdout.write(cfg.resolved_yaml())
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hlsgen.config import load_config
    from hlsgen.errors import UsageError

    cfg = load_config(args.config)
    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs: must be >= 1, got {args.epochs}")
    from hlsgen.train import train_command

    train_command(cfg, Path(args.output) if args.output else None, args.epochs, args.force)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 mismatch, 2 bad input, 3 missing tool)."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except HlsgenError as err:
        if args.debug:
            raise
        print(f"hlsgen: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("hlsgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
