"""``hlsgen search CONFIG``: the narrowest weight, bias and result types per layer that keep the accuracy.

1. **Widths, not binary points.** For each Conv2D/Dense weight, bias and result and each width in
   ``bits``, the integer bits come from the float model's values as ``hlsgen profile`` measures them
   (weights and biases; results on training images, after a ReLU unsigned), at saturation 0: no float
   value overflows. Only the fraction bits are traded; rounding and overflow modes are the config's.
2. **Greedy PTQ search** (:mod:`.greedy`), starting from the config: each round evaluates every
   "narrow one component by one bit" move, in parallel on Dask (:mod:`.scheduler`); post-training
   quantization through the golden model (:mod:`.task`). It takes the move saving the most
   weight bits per test image lost among those within ``max_drop`` points of the config's own PTQ
   accuracy; a component whose move falls outside is frozen; it stops when no move qualifies.
3. **QAT confirmation.** The best candidate and its neighbours on the Pareto front, and the reference
   config, are fine-tuned for ``qat_epochs`` from the float weights and exported; the best is the
   smallest weight memory whose fine-tuned golden accuracy is within ``max_drop`` of the reference's.

Output (:mod:`.report`): ``best.yaml``, ``pareto.png``, ``search.json`` and a table.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hlsgen import golden
from hlsgen.config import Config, Quantity, TypeKey, load_config
from hlsgen.data import Mnist, input_codes, load_mnist, to_float
from hlsgen.errors import ConfigError, HlsgenError, UsageError
from hlsgen.fixed import MAX_WIDTH, FixedType, Rounding
from hlsgen.outdir import check_replaceable
from hlsgen.profile.ranges import current_type, needed_integer_bits, raw_config
from hlsgen.search.greedy import (
    QUANTITIES,
    Key,
    Move,
    allowed_loss,
    choose_move,
    confirm_set,
    generate_moves,
    pareto_front,
    weight_bits,
)
from hlsgen.spec.lower import lower_with_settings
from hlsgen.synth.estimate import estimate
from hlsgen.train import cache

PROFILE_IMAGES = 2000  # training images for the result ranges, as ``hlsgen profile`` (its default)


@dataclass
class Candidate:
    """One evaluated (or rejected) config of the search."""

    id: int
    round: int
    move: Move | None
    widths: dict[Key, int]
    types: dict[Key, FixedType]
    raw: dict[str, Any] = field(repr=False)
    weight_bits: int
    hw: dict[str, int]  # the estimate's multipliers, dsp (upper bound), bram (lower bound)
    correct: int | None = None
    error: str | None = None
    accepted: bool = False
    qat_correct: int | None = None
    qat_error: str | None = None


@dataclass
class SearchSpace:
    """The components (network order), their parameter counts, and the type of each at each width."""

    cfg: Config
    raw: dict[str, Any]
    sizes: dict[Key, int]
    reference: dict[Key, FixedType]
    extremes: dict[Key, tuple[float, float]]
    unsigned: set[Key]
    _types: dict[tuple[Key, int], FixedType] = field(default_factory=dict)

    def type_at(self, key: Key, width: int) -> FixedType:
        """The config's own type at its own width; else ``width`` bits with the integer bits the float
        values need (profile's rule at saturation 0: no float value overflows once rounded as the hardware
        rounds it; weights and biases to nearest, as PTQ and QAT do), the config's modes."""
        ref = self.reference[key]
        if width == ref.width:
            return ref
        if (key, width) not in self._types:
            shape = replace(ref, width=width, signed=key not in self.unsigned)
            # weights and biases become codes by rounding to nearest (round_codes), whatever their modes
            probe = shape if key[1] == Quantity.RESULT else replace(shape, rounding=Rounding.RND_CONV)
            lo, hi = self.extremes[key]
            # overflow depends only on the extreme values (rounding is monotonic), so two suffice
            needed = needed_integer_bits(np.array([lo, hi]), probe, 0.0)
            self._types[(key, width)] = replace(shape, integer=ref.integer if needed is None else needed)
        return self._types[(key, width)]

    def candidate(self, cid: int, rnd: int, move: Move | None, widths: dict[Key, int]) -> Candidate:
        """The candidate with these widths, validated by the config rules (``error`` set when rejected)."""

        types = {key: self.type_at(key, w) for key, w in widths.items()}
        bits = weight_bits(self.sizes, widths)
        raw = self.raw
        try:
            cand = self.cfg if move is None else self.cfg.with_types(types)
            raw = cand.raw  # the types as FixedTypes: the workers and best.yaml take them as they are
            est = estimate(*lower_with_settings(cand))
        except (ConfigError, ValueError) as err:
            return Candidate(cid, rnd, move, dict(widths), types, raw, bits, {}, error=str(err).splitlines()[0])
        hw = {"multipliers": est.total("multipliers"), "dsp": est.total("dsp_upper"),
              "bram": est.total("bram18_lower")}
        return Candidate(cid, rnd, move, dict(widths), types, raw, bits, hw)


def search_space(cfg: Config, float_model, weights, x_train: np.ndarray) -> SearchSpace:
    """Components, sizes and value extremes from the float model (weights; activations on ``x_train``)."""
    from hlsgen.profile.ranges import float_values

    values = float_values(cfg, float_model, to_float(x_train))
    relu = {lc.name for lc in cfg.layers if lc.activation == "relu"}
    sizes: dict[Key, int] = {}
    reference, extremes, unsigned = {}, {}, set()
    for lc in cfg.layers:
        if not lc.has_weights:
            continue
        w, b = weights[lc.name]
        for quantity, count in zip(QUANTITIES, (w.size, b.size, 0), strict=True):
            key = TypeKey(lc.name, quantity)
            sizes[key] = int(count)
            reference[key] = current_type(cfg, lc.name, quantity)
            v = values[key]
            extremes[key] = (float(np.min(v)), float(np.max(v)))
            if quantity == Quantity.RESULT and lc.name in relu:
                unsigned.add(key)
    return SearchSpace(cfg, raw_config(cfg), sizes, reference, extremes, unsigned)


def _float_model(cfg: Config, data: Mnist):
    """The config's cached float model (``<output_dir>/train`` when it matches the config), else trained."""
    from hlsgen.train import train_float

    train_dir = Path(cfg.output_dir) / "train"
    cached = cache.load(train_dir, cfg, cfg.train.epochs, data)
    if cached is not None:
        print(f"search: float model from {train_dir}", flush=True)
        return cached.models()[1]
    start = time.perf_counter()
    print(f"search: no matching training in {train_dir}; training the float model ({cfg.train.epochs} epochs)",
          flush=True)
    model = train_float(cfg, data)
    print(f"search: float model trained in {time.perf_counter() - start:.1f} s", flush=True)
    return model


def data_file(cfg: Config) -> str:
    """The absolute path of the data file every worker reads: ``data.path``, else ``$HLSGEN_DATA``."""
    from hlsgen.data import ENV_VAR

    path = cfg.data.path or os.environ.get(ENV_VAR)
    if not path:
        raise UsageError(f"search: workers need a data file; set data.path in the config or {ENV_VAR}")
    return str(Path(path).resolve())


def greedy_search(space: SearchSpace, evaluator, lo: int, hi: int, floor_loss: int,
                  log=print) -> list[Candidate]:
    """Every candidate of the greedy search (the reference first), ``accepted`` marking the path taken.
    ``floor_loss``: correct images a candidate may lose against the reference (:func:`allowed_loss`)."""
    widths = {key: t.width for key, t in space.reference.items()}
    ref = space.candidate(0, 0, None, widths)
    if ref.error:
        raise HlsgenError(f"search: the config itself cannot be evaluated: {ref.error}")
    [ref.correct] = evaluator.correct([ref.raw])
    if ref.correct is None:
        raise HlsgenError("search: the config itself cannot be lowered to a spec")
    ref.accepted = True
    candidates, frozen, current, floor = [ref], set(), ref.correct, ref.correct - floor_loss
    rnd = 0
    while True:
        rnd += 1
        moves = generate_moves(widths, frozen, lo, hi)
        batch = [space.candidate(len(candidates) + i, rnd, m, {**widths, m.key: m.new}) for i, m in enumerate(moves)]
        candidates += batch
        valid = [c for c in batch if c.error is None]
        frozen.update(c.move.key for c in batch if c.error is not None)
        if not valid:
            break
        for c, correct in zip(valid, evaluator.correct([c.raw for c in valid]), strict=True):
            c.correct = correct
            if correct is None:
                c.error = "rejected by the lowering"
        pick = choose_move(current, [(c.move, c.correct) for c in valid], space.sizes, floor)
        frozen.update(c.move.key for c in valid if c.correct is None or c.correct < floor)
        if pick is None:
            log(f"search: round {rnd}: {len(valid)} candidate{'s' * (len(valid) != 1)}, none within the budget; done")
            break
        taken = valid[pick]
        taken.accepted, widths, current = True, taken.widths, taken.correct
        log(f"search: round {rnd}: {len(valid)} candidate{'s' * (len(valid) != 1)}; {taken.move.name} "
            f"{taken.move.old} -> {taken.move.new} bits ({taken.types[taken.move.key]}): {current} correct, "
            f"{taken.weight_bits} weight bits")
    return candidates


def _qat_correct(cfg: Config, raw: dict[str, Any], data: Mnist, float_model, epochs: int, x_test, y_test) -> int:
    from hlsgen.config import config_from_dict
    from hlsgen.train import fine_tune
    from hlsgen.train.codes import export_spec
    from hlsgen.train.quantizers import QuantizerMismatchWarning

    cand = config_from_dict(raw, source=cfg.source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuantizerMismatchWarning)  # the golden model decides, not QKeras
        qat = fine_tune(cand, data, float_model, epochs)
    spec = export_spec(cand, qat)
    out = golden.run(spec, input_codes(cand.input_type, x_test)).output
    return int(np.count_nonzero(golden.labels(out) == y_test))


def confirm(candidates: list[Candidate], front: list[int], best: int, n_confirm: int, cfg: Config, data: Mnist,
            float_model, epochs: int, n_test: int | None, floor_loss: int, log=print) -> tuple[int, list[int]]:
    """Fine-tune the reference and the :func:`confirm_set` candidates (in place: ``qat_correct``); return
    the chosen candidate (smallest weight bits within the budget of the fine-tuned reference; the reference
    when none is) and the confirmed ids."""
    x_test, y_test = data.x_test[:n_test], data.y_test[:n_test].astype(np.int64)
    bits = {c.id: c.weight_bits for c in candidates}
    ids = [0] + [i for i in confirm_set(front, bits, best, n_confirm) if i != 0]
    for i in ids:
        c = candidates[i]
        start = time.perf_counter()
        try:
            c.qat_correct = _qat_correct(cfg, c.raw, data, float_model, epochs, x_test, y_test)
        except HlsgenError as err:
            c.qat_error = str(err).splitlines()[0]
        shown = "failed: " + c.qat_error if c.qat_error else f"{c.qat_correct}/{len(y_test)} correct"
        log(f"search: QAT {epochs} epoch{'s' * (epochs != 1)} of candidate {i} ({c.weight_bits} weight bits): "
            f"{shown} ({time.perf_counter() - start:.1f} s)")
    ref = candidates[0].qat_correct
    if ref is None:
        raise HlsgenError(f"search: the reference config's fine-tune failed: {candidates[0].qat_error}")
    ok = [i for i in ids if candidates[i].qat_correct is not None and candidates[i].qat_correct >= ref - floor_loss]
    return min(ok, key=lambda i: (candidates[i].weight_bits, -candidates[i].qat_correct, i)), ids


def check_bits(lo: int, hi: int) -> tuple[int, int]:
    """``(lo, hi)`` when ``1 <= lo <= hi <= MAX_WIDTH`` (the widths a fixed-point type may have); UsageError
    otherwise."""
    if not 1 <= lo <= hi <= MAX_WIDTH:
        raise UsageError(f"--bits {lo}..{hi}: expected LO..HI with 1 <= LO <= HI <= {MAX_WIDTH}")
    return lo, hi


def parse_bits(text: str) -> tuple[int, int]:
    """``--bits`` as the CLI takes it: ``"LO..HI"`` (``"2..8"``) or one width ``"N"`` (``N..N``), decimal
    digits only, checked by :func:`check_bits`; UsageError naming the text otherwise."""
    lo, sep, hi = text.partition("..")
    if not all(part.isascii() and part.isdigit() and len(part) <= 4 for part in (lo, hi if sep else lo)):
        raise UsageError(f"--bits: expected LO..HI (e.g. 2..8) or one width, got {text!r}")
    return check_bits(int(lo), int(hi if sep else lo))


def _check_arguments(max_drop: float, qat_epochs: int, test_images: int | None, confirm_candidates: int) -> None:
    if not 0.0 <= max_drop <= 100.0:  # also NaN
        raise UsageError(f"--max-drop: percentage points from 0 to 100 expected, got {max_drop}")
    if qat_epochs < 0:
        raise UsageError(f"--qat-epochs: must be >= 0, got {qat_epochs}")
    if test_images is not None and test_images < 1:
        raise UsageError(f"--test-images: must be >= 1, got {test_images}")
    if confirm_candidates < 0:
        raise UsageError(f"search: confirm_candidates must be >= 0, got {confirm_candidates}")


def _check_writable(target: Path) -> None:
    """UsageError unless a directory can be made beside ``target`` (in its nearest existing ancestor): the
    output is written after minutes of search (``--output /proc/x`` failed only then). The probe directory
    is removed at once."""
    import tempfile

    folder = target.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".hlsgen-probe-", dir=folder))
    except OSError as err:
        raise UsageError(f"{target}: cannot write there ({folder}: {err.strerror or err})") from None


def search_command(config_path: str | Path, max_drop: float = 0.5, bits: tuple[int, int] = (2, 8),
                   workers: int | None = None, scheduler: str | None = None, output: str | Path | None = None,
                   force: bool = False, qat_epochs: int = 3, test_images: int | None = None,
                   confirm_candidates: int = 3, log=print) -> Path:
    """Run the search on the config at ``config_path``, print the front, write the output folder
    (default ``<output_dir>-search``) and return its path. See the module docstring for the method.

    Every argument, the config, the output folder and the cluster (``workers`` bounded; ``scheduler``
    probed and connected to within :data:`~hlsgen.search.scheduler.CONNECT_TIMEOUT` seconds) are
    checked before the data is loaded or the float model trained.
    """
    from hlsgen.search.scheduler import check_workers, interrupts_noted, scheduler_address

    lo, hi = check_bits(*bits)
    _check_arguments(max_drop, qat_epochs, test_images, confirm_candidates)
    check_workers(workers, scheduler)
    if scheduler is not None:
        scheduler_address(scheduler)
    cfg = load_config(config_path)
    target = Path(output or f"{cfg.output_dir}-search")
    check_replaceable(target, force)
    _check_writable(target)
    path = data_file(cfg)
    with interrupts_noted() as check:
        def checked_log(message: str) -> None:  # every round, every fine-tune
            check()
            log(message)

        return _search(cfg, path, target, force, max_drop, (lo, hi), workers, scheduler, qat_epochs, test_images,
                       confirm_candidates, check, checked_log)


def _search(cfg: Config, path: str, target: Path, force: bool, max_drop: float, bits: tuple[int, int],
            workers: int | None, scheduler: str | None, qat_epochs: int, test_images: int | None,
            confirm_candidates: int, check, log) -> Path:
    """:func:`search_command` once its arguments are checked; ``check()`` raises KeyboardInterrupt when a
    SIGINT was noted (see :func:`~hlsgen.search.scheduler.interrupts_noted`)."""
    from hlsgen.search.report import write_outputs
    from hlsgen.search.scheduler import DaskEvaluator, dask_client, probe_scheduler
    from hlsgen.train.codes import float_weights

    lo, hi = bits
    start = mark = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal mark
        check()
        now = time.perf_counter()
        phases[name], mark = now - mark, now

    if scheduler is not None:
        probe_scheduler(scheduler)  # a peer that is not Dask: one line within seconds, before the data
    data = load_mnist(path)
    n_test = len(data.x_test[:test_images])
    lap("data")
    with dask_client(workers, scheduler) as (client, where):  # connected before the float model trains
        lap("cluster_start")
        float_model = _float_model(cfg, data)
        x_test, y_test = data.x_test[:n_test], data.y_test[:n_test].astype(np.int64)
        float_acc = float(np.mean(golden.labels(float_model.predict(to_float(x_test), batch_size=1000, verbose=0))
                                  == y_test))
        lap("float_model")
        weights = float_weights(cfg, float_model)
        space = search_space(cfg, float_model, weights, data.x_train[:PROFILE_IMAGES])
        lap("ranges")
        floor_loss = allowed_loss(max_drop, n_test)
        evaluator = DaskEvaluator(client, weights, path, n_test, where)
        log(f"search: PTQ evaluations on {evaluator.where} ({evaluator.workers()} workers), {n_test} test images, "
            f"widths {lo}..{hi}, at most {floor_loss} images ({max_drop} points) below the config")
        candidates = greedy_search(space, evaluator, lo, hi, floor_loss, log)
        evaluations = evaluator.evaluations
        lap("ptq_search")
    lap("cluster_stop")
    points = [(c.weight_bits, c.correct) for c in candidates]
    front = pareto_front(points)
    floor = candidates[0].correct - floor_loss
    within = [c.id for c in candidates if c.correct is not None and c.correct >= floor]
    ptq_best = min(within, key=lambda i: (candidates[i].weight_bits, -candidates[i].correct, i))
    if qat_epochs > 0:
        chosen, confirmed = confirm(candidates, front, ptq_best, confirm_candidates, cfg, data, float_model,
                                    qat_epochs, n_test, floor_loss, log)
    else:
        chosen, confirmed = ptq_best, []
        log("search: --qat-epochs 0: the best config is chosen by PTQ alone (no fine-tune confirms it)")
    lap("qat")
    seconds = time.perf_counter() - start
    write_outputs(target, force, cfg, space, candidates, front, chosen, confirmed, n_test=n_test,
                  max_drop=max_drop, bits=(lo, hi), qat_epochs=qat_epochs, evaluations=evaluations,
                  float_accuracy=float_acc, seconds=seconds, phases=phases, log=log)
    return target
