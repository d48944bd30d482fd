"""What every command shares: the checks run before anything slow is imported, the last build's record."""

from __future__ import annotations

LAST_BUILD_FILE = ".hlsgen-last-build"


def output_path(output: str | None) -> None:
    """Refuse a bad --output before TensorFlow is even imported."""
    if output:
        from hlsgen.outdir import validate_output_path

        validate_output_path(output)


def positive(name: str, value: int | None) -> None:
    from hlsgen.errors import UsageError

    if value is not None and value < 1:
        raise UsageError(f"{name}: must be >= 1, got {value}")


def epochs(cfg, value: int | None) -> None:
    """``--epochs`` by the config's own rule for ``train.epochs``: at least 1, or 0 (post-training quantization of
    the given weights) when ``train.init`` is a model file."""
    from hlsgen.errors import UsageError

    least = cfg.train.least_epochs
    if value is not None and value < least:
        why = "" if least == 0 else " (0, post-training quantization, needs train.init: a model file)"
        raise UsageError(f"--epochs: must be >= {least}{why}, got {value}")
