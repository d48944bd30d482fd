"""The commands that start from a config or a model file: each registers its own arguments and checks them
(before anything slow is imported), and dispatches to the command's module."""

from __future__ import annotations

import argparse
import sys

from hlsgen.cli.common import LAST_BUILD_FILE, epochs, output_path, positive


def register_check(sub) -> None:
    p = sub.add_parser("check", help="validate a config and print it resolved (defaults, derived types)")
    p.add_argument("config", help="YAML config file")
    p.set_defaults(func=_cmd_check)


def _cmd_check(args: argparse.Namespace) -> int:
    from hlsgen.config import load_config

    cfg = load_config(args.config)
    sys.stdout.write(cfg.resolved_yaml())
    return 0


def register_estimate(sub) -> None:
    p = sub.add_parser("estimate", help="pre-synthesis estimate: MACs, multipliers, memory, BRAM and latency bounds")
    p.add_argument("config", help="YAML config file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_estimate)


def _cmd_estimate(args: argparse.Namespace) -> int:
    import json

    from hlsgen.config import load_config
    from hlsgen.spec.lower import lower_with_settings
    from hlsgen.synth.estimate import estimate
    from hlsgen.synth.estimate_format import estimate_json, format_estimate

    est = estimate(*lower_with_settings(load_config(args.config)))
    print(json.dumps(estimate_json(est), indent=2) if args.json else format_estimate(est))
    return 0


def register_import(sub) -> None:
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


def _cmd_import(args: argparse.Namespace) -> int:
    from hlsgen.importer.options import check_options

    check_options(args.bits, args.images, args.input_scale)
    from hlsgen.importer import import_command  # TensorFlow: slow

    import_command(args.model, args.output, args.weights, args.bits, args.images, args.input_scale, args.force)
    return 0


def register_train(sub) -> None:
    p = sub.add_parser("train", help="train float and QAT models; report float, PTQ, QAT and golden accuracy")
    p.add_argument("config", help="YAML config file")
    p.add_argument("--output", help="output directory (default: the config's output_dir)")
    p.add_argument("--epochs", type=int, help="override train.epochs")
    p.add_argument("--force", action="store_true", help="replace an output directory hlsgen did not create")
    p.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hlsgen.config import load_config

    cfg = load_config(args.config)
    epochs(cfg, args.epochs)
    output_path(args.output)
    from hlsgen.train import train_command

    train_command(cfg, Path(args.output) if args.output else None, args.epochs, args.force)
    return 0


def register_build(sub) -> None:
    p = sub.add_parser("build", help="train (or reuse), export the spec and write the Vitis HLS project")
    p.add_argument("config", help="YAML config file")
    p.add_argument("--output", help="project directory (default: the config's output_dir)")
    p.add_argument("--epochs", type=int, help="override train.epochs")
    p.add_argument("--images", type=int, help="test images in tb_data (default: all)")
    p.add_argument("--force", action="store_true", help="replace a directory hlsgen did not create")
    p.set_defaults(func=_cmd_build)


def _cmd_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hlsgen.build import build_command
    from hlsgen.config import load_config

    cfg = load_config(args.config)
    epochs(cfg, args.epochs)
    positive("--images", args.images)
    target = build_command(cfg, Path(args.output) if args.output else None, args.force, args.epochs, args.images)
    Path(LAST_BUILD_FILE).write_text(str(target) + "\n")  # what the top-level `make csim` forwards to
    return 0


def register_profile(sub) -> None:
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


def _cmd_profile(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hlsgen.config import load_config

    cfg = load_config(args.config)
    positive("--images", args.images)
    positive("--test-images", args.test_images)
    positive("--epochs", args.epochs)
    output_path(args.output)
    if not 0.0 <= args.saturation < 1.0:
        from hlsgen.errors import UsageError

        raise UsageError(f"--saturation: a fraction in [0, 1) is expected, got {args.saturation}")
    from hlsgen.profile.command import profile_command  # TensorFlow: slow

    profile_command(cfg, args.images, args.test_images, args.saturation, Path(args.output) if args.output else None,
                    Path(args.apply) if args.apply else None, args.force, args.epochs)
    return 0


def register_search(sub) -> None:
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


def _cmd_search(args: argparse.Namespace) -> int:
    from hlsgen.search.command import parse_bits, search_command

    output_path(args.output)  # search_command checks its other arguments itself
    search_command(args.config, max_drop=args.max_drop, bits=parse_bits(args.bits), workers=args.workers,
                   scheduler=args.scheduler, output=args.output, force=args.force, qat_epochs=args.qat_epochs,
                   test_images=args.test_images)
    return 0
