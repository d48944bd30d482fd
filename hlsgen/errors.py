"""Exceptions that the CLI maps to exit codes (README, "Exit codes everywhere")."""


class HlsgenError(Exception):
    """Base class: a problem the user can fix; printed as one line, never a traceback."""

    exit_code = 2


class ConfigError(HlsgenError):
    """The config is invalid. The message starts with the offending key path."""

    exit_code = 2


class DataError(HlsgenError):
    """Data set missing, unreadable or of the wrong shape."""

    exit_code = 2


class UsageError(HlsgenError):
    """Bad command-line arguments or an output path that must not be touched."""

    exit_code = 2


class ToolMissingError(HlsgenError):
    """A required external tool (g++, vitis_hls, vitis-run) is not installed."""

    exit_code = 3


class VerificationError(HlsgenError):
    """The hardware (C simulation) disagrees with the golden model."""

    exit_code = 1
