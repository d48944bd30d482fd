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
