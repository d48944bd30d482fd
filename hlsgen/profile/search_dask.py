"""Where ``hlsgen search`` runs its evaluations: Dask (``dask.distributed``).

By default a local cluster sized to the machine (one single-threaded worker process per core, bound
to 127.0.0.1, no dashboard); with ``scheduler="tcp://host:8786"`` the user's own cluster (started with
``dask scheduler`` / ``dask worker``, or dask-jobqueue). The float weights are scattered to every
worker once; each task is :func:`hlsgen.profile.search_task.ptq_correct`, and results are gathered in
submission order, so the outcome does not depend on how many workers there are or which one ran what.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from hlsgen.errors import HlsgenError, UsageError
from hlsgen.profile.search_task import Weights, heavy_modules, ptq_correct

CONNECT_TIMEOUT = 10  # s to reach a user's scheduler
WORKER_TIMEOUT = 60  # s to wait for the first worker of a user's cluster


class DaskEvaluator:
    """PTQ evaluations of candidate configs on a Dask cluster (see :func:`dask_evaluator`)."""

    def __init__(self, client, weights: Weights, data_path: str, n_test: int | None, where: str):
        self.client, self.data_path, self.n_test, self.where = client, data_path, n_test, where
        [self._weights] = client.scatter([weights], broadcast=True)  # one object, sent once to each worker
        self.evaluations = 0

    def correct(self, raws: Sequence[dict[str, Any]]) -> list[int | None]:
        """Correct test images of each config in ``raws`` (None where it cannot be built), in order."""
        futures = [self.client.submit(ptq_correct, raw, self._weights, self.data_path, self.n_test, pure=False)
                   for raw in raws]
        try:
            results = self.client.gather(futures)
        except Exception as err:  # a worker died or could not import hlsgen / read the data
            raise HlsgenError(f"search: a Dask task failed on {self.where}: {type(err).__name__}: "
                              f"{str(err).splitlines()[0] if str(err) else ''}") from err
        self.evaluations += len(raws)
        return list(results)

    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def worker_heavy_modules(self) -> dict[str, list[str]]:
        """Per worker address: which of TensorFlow, QKeras, hls4ml it has loaded (should be none)."""
        return self.client.run(heavy_modules)


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[tuple[Any, str]]:
    """A ``distributed.Client`` and a description of where it runs; the local cluster is closed at the end.

    Raises UsageError when ``scheduler`` cannot be reached, HlsgenError when no worker joins it within
    WORKER_TIMEOUT seconds.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as err:
            raise UsageError(f"{scheduler}: cannot reach the Dask scheduler ({err})") from None
        try:
            try:
                client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
            except TimeoutError:
                raise HlsgenError(f"{scheduler}: no Dask worker joined within {WORKER_TIMEOUT} s "
                                  f"(start one with 'dask worker {scheduler}')") from None
            yield client, f"Dask scheduler {scheduler}"
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    with warnings.catch_warnings():
        # without a dashboard the scheduler still serves health checks, on 8787 if free, else any port
        warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               host="127.0.0.1", silence_logs=logging.ERROR)
    with cluster, Client(cluster) as client:
        yield client, f"local Dask cluster of {n} worker process{'es' * (n != 1)}"


@contextlib.contextmanager
def dask_evaluator(weights: Weights, data_path: str, n_test: int | None, workers: int | None = None,
                   scheduler: str | None = None) -> Iterator[DaskEvaluator]:
    """A :class:`DaskEvaluator` on a local cluster of ``workers`` processes (default: one per core) or on
    the cluster behind ``scheduler``."""
    if workers is not None and workers < 1:
        raise UsageError(f"--workers: expected at least 1, got {workers}")
    with dask_client(workers, scheduler) as (client, where):
        yield DaskEvaluator(client, weights, data_path, n_test, where)
