"""``hlsgen prove CONFIG|PROJECT``: the overflow proof of a project's spec (or of a config's trained
spec), its certificate ``proof.json`` and the one-line summary that ``hlsgen build`` prints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hlsgen.analysis.prove import BUILD_TIME_LIMIT, DEFAULT_TIME_LIMIT, CastReport, ProofStatus, prove, summary
from hlsgen.errors import UsageError
from hlsgen.spec import HardwareSpec
from hlsgen.verify.derive import check_project
from hlsgen.verify.evidence import MANIFEST

PROOF_FILE = "proof.json"


def certificate(spec: HardwareSpec, reports: list[CastReport]) -> dict:
    """The proof as ``proof.json`` holds it: the casts, and the digest of the spec it is about
    (:meth:`HardwareSpec.digest`). Without the seconds each cast took: a project is the same bytes when built
    again (``hlsgen prove --json`` shows them)."""
    return {"spec": spec.name, "spec_sha256": spec.digest(), "summary": summary(reports),
            "casts": [{k: v for k, v in r.to_json().items() if k != "seconds"} for r in reports]}


def write_proof(spec: HardwareSpec, directory: Path, test_inputs: np.ndarray | None,
                time_limit: float = BUILD_TIME_LIMIT) -> list[CastReport]:
    """Prove ``spec`` (``time_limit`` seconds per cast the intervals do not prove), write
    ``directory/proof.json``; returns the verdicts."""
    reports = prove(spec, test_inputs, time_limit=time_limit)
    (directory / PROOF_FILE).write_text(json.dumps(certificate(spec, reports), indent=2) + "\n")
    return reports


def _project_inputs(project: Path) -> tuple[HardwareSpec, np.ndarray | None]:
    """The project's spec and, for a built project (one with a manifest), its test input codes, checked like
    every evidence file (:func:`hlsgen.verify.derive.check_project`; the firmware is not read)."""
    if not (project / "tb_data" / MANIFEST).exists():
        return HardwareSpec.load(project), None
    ev = check_project(project, firmware=False)
    return ev.spec, ev.inputs.reshape(len(ev.inputs), *ev.spec.input_shape)


def _from_config(path: Path) -> tuple[HardwareSpec, np.ndarray]:
    from hlsgen.config import load_config
    from hlsgen.data import input_codes, load_for
    from hlsgen.train import cache

    cfg = load_config(path)
    train = Path(cfg.output_dir) / "train"
    data = load_for(cfg.data.path, cfg.input_shape)
    cached = cache.load(train, cfg, cfg.train.epochs, data)
    if cached is None:
        raise UsageError(f"{path}: no training of this config on this data in {train}; run 'hlsgen build {path}' "
                         "(or 'hlsgen train') first, or prove a built project directory")
    spec = cached.spec()
    return spec, input_codes(spec.input_t, data.x_test)


def prove_command(target: str, as_json: bool, time_limit: float = DEFAULT_TIME_LIMIT) -> int:
    """Print every cast's verdict (a table, or one JSON object); exit 0 (the proof is the result, whatever
    it says). ``time_limit``: seconds per cast for the witness search and the exact method."""
    if not time_limit >= 0:  # also NaN
        raise UsageError(f"--time-limit: {time_limit!r} is not a number of seconds >= 0")
    path = Path(target)
    if path.is_dir():
        if not (path / "spec.json").exists():
            raise UsageError(f"{path}: not an hlsgen project (no spec.json); give a project or a config")
        spec, inputs = _project_inputs(path)
        reports = prove(spec, inputs, time_limit=time_limit)
    elif path.is_file():
        spec, inputs = _from_config(path)
        reports = prove(spec, inputs, time_limit=time_limit)
    else:
        raise UsageError(f"{path}: no such config file or project directory")
    if as_json:
        print(json.dumps({"casts": [r.to_json() for r in reports]}, indent=2))
        return 0
    print(f"{'layer':<14}{'cast':<19}{'type':<36}{'status':<14}{'method':<10}{'bound':<26}{'headroom':>9}"
          f"{'test':>8}{'time':>8}  witness")
    for r in reports:
        bound = f"[{r.bound[0]:.4g}, {r.bound[1]:.4g}]"
        head = "" if r.headroom_bits is None else f"{r.headroom_bits} bits"
        test = "" if r.test_overflow_fraction is None else f"{100 * r.test_overflow_fraction:.1f}%"
        witness = "confirmed" if r.witness_confirmed else ("-" if r.status is ProofStatus.PROVED else "none found")
        method = "" if r.method is None else r.method.value
        print(f"{r.layer:<14}{r.cast:<19}{r.type:<36}{r.status.value:<14}{method:<10}{bound:<26}{head:>9}{test:>8}"
              f"{r.seconds:>7.1f}s  {witness}")
    print(summary(reports))
    return 0
