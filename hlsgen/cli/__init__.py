"""The ``hlsgen`` command: parses arguments, runs one subcommand, maps errors to exit codes. Each command
registers its own arguments, checks and dispatch in :mod:`.configs` (commands that start from a config or a
model file) or :mod:`.projects` (commands that read a generated project); what they share is :mod:`.common`."""

from __future__ import annotations

import argparse
import os
import sys

from hlsgen import __version__
from hlsgen.cli import configs, projects
from hlsgen.cli.common import LAST_BUILD_FILE  # noqa: F401  (the file the top-level Makefile reads)
from hlsgen.errors import HlsgenError

#: The commands in the order ``hlsgen --help`` lists them: the pipeline's.
COMMANDS = (configs.register_check, configs.register_import, configs.register_train, configs.register_build,
            configs.register_profile, projects.register_csim, projects.register_rtl, projects.register_synth,
            projects.register_compare, projects.register_prove, configs.register_search, configs.register_estimate,
            projects.register_report)


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

    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 mismatch, 2 bad input, 3 missing tool)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    # progress lines as they happen through a pipe (`hlsgen search ... | tee log`), not when a block fills
    # or the process ends (a Ctrl-C seen in the log is then the moment it names)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
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
