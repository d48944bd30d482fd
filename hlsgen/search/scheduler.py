"""Where ``hlsgen search`` runs its evaluations: Dask (``dask.distributed``).

By default a local cluster sized to the machine (one single-threaded worker process per usable core, bound
to 127.0.0.1, no dashboard); with ``scheduler="tcp://host:8786"`` the user's own cluster (started with
``dask scheduler`` / ``dask worker``, or dask-jobqueue). The float weights are scattered to every
worker once; each task is :func:`hlsgen.search.task.ptq_correct`, and results are gathered in
submission order, so the outcome does not depend on how many workers there are or which one ran what.

Before any data is loaded or any model trained, :func:`check_workers` bounds ``--workers`` and
:func:`probe_scheduler` checks that a scheduler address is a Dask endpoint, on a plain socket with a
deadline (Dask's own connect bounds the TCP connect but not its handshake read, and takes the first 8
bytes a peer sends as the size of the buffer it allocates).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import struct
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from hlsgen.errors import HlsgenError, UsageError
from hlsgen.search.task import Weights, heavy_modules, ptq_correct

CONNECT_TIMEOUT = 10.0  # s to reach a user's scheduler and read its greeting
WORKER_TIMEOUT = 60  # s to wait for the first worker of a user's cluster
WORKERS_PER_CORE = 4  # local workers are single-threaded and CPU-bound: more than one per core gains nothing
FDS_PER_WORKER = 16  # open files the driver holds per local worker (9 measured with distributed 2024.12)
FDS_RESERVED = 256  # for the driver itself (TensorFlow, the data file, the output)
MAX_GREETING = 1 << 16  # bytes; a Dask greeting (compression, Python version, pickle protocol) is ~60
GREETING_KEYS = {"compression", "python", "pickle-protocol"}


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or ``taskset`` narrows;
    ``os.cpu_count()`` where there is none)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers() -> int:
    """The local cluster's size without ``--workers``: one worker per usable core, within :func:`max_workers`."""
    return min(usable_cores(), max_workers())


def max_workers() -> int:
    """The most local workers :func:`check_workers` accepts: ``WORKERS_PER_CORE`` per usable core, and
    what the soft open-files limit leaves room for (``FDS_PER_WORKER`` each after ``FDS_RESERVED``)."""
    limit = WORKERS_PER_CORE * usable_cores()
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft != resource.RLIM_INFINITY:
            limit = min(limit, (soft - FDS_RESERVED) // FDS_PER_WORKER)
    except (ImportError, OSError, ValueError):  # no getrlimit (Windows): the core bound alone
        pass
    return max(1, limit)


def check_workers(workers: int | None, scheduler: str | None) -> None:
    """UsageError unless ``workers`` is None or 1 to :func:`max_workers`, and not given with a scheduler
    (a user's cluster has its own workers)."""
    if workers is None:
        return
    if scheduler is not None:
        raise UsageError(f"--workers {workers}: applies to the local cluster only; with --scheduler the "
                         "cluster's own workers run the tasks")
    if workers < 1:
        raise UsageError(f"--workers: expected at least 1, got {workers}")
    if workers > (most := max_workers()):
        raise UsageError(f"--workers {workers}: at most {most} on this machine ({WORKERS_PER_CORE} per core, "
                         "within the open-files limit)")


def scheduler_address(address: str) -> tuple[str, str, int]:
    """``(tcp://host:port, host, port)`` from ``tcp://host:port`` or ``host:port`` (IPv6 in brackets,
    ``[::1]:8786``); UsageError naming the value otherwise (Dask's other transports need options hlsgen
    does not pass)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    def bad(why: str) -> UsageError:
        return UsageError(f"--scheduler {address!r}: {why} (expected tcp://host:port, e.g. tcp://head:8786)")

    if not address or not address.isprintable() or any(c.isspace() for c in address):
        raise bad("not an address")
    scheme, loc = parse_address(address)
    if scheme != "tcp":
        raise bad(f"scheme {scheme!r} is not supported")
    port_text = loc.rpartition(":")[2] if ":" in loc and not loc.endswith("]") else ""
    if not (port_text.isascii() and port_text.isdigit()):
        raise bad("no port number")
    try:
        host, port = parse_host_port(loc)
    except ValueError:
        raise bad("not host:port") from None
    if not host or not 1 <= port <= 65535:
        raise bad("no host" if not host else f"port {port} out of range 1-65535")
    shown = f"[{host}]" if ":" in host else host
    return f"tcp://{shown}:{port}", host, port


def _recv(sock: socket.socket, n: int, deadline: float) -> bytes:
    """Up to ``n`` bytes (fewer when the peer closes); TimeoutError at ``deadline`` (time.monotonic)."""
    chunks, got = [], 0
    while got < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(min(n - got, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def probe_scheduler(address: str, timeout: float | None = None) -> str:
    """Check within ``timeout`` seconds (default CONNECT_TIMEOUT) that a Dask endpoint answers at
    ``address``; return it as ``tcp://host:port``.

    A Dask comm greets first: on accepting a connection it sends one message, an 8-byte little-endian
    size then msgpack frames of ``{"compression", "python", "pickle-protocol"}``. The probe reads at
    most ``MAX_GREETING`` bytes of it on a plain socket and decodes it with msgpack only (no pickle):
    anything else (refused, silent, an HTTP server waiting for a request, a banner, a closed connection)
    is a UsageError naming the address and what happened.
    """
    import msgpack
    from distributed.protocol.utils import unpack_frames

    url, host, port = scheduler_address(address)
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        raise UsageError(f"{url}: connection refused (nothing listens there)") from None
    except socket.gaierror as err:
        raise UsageError(f"{url}: unknown host {host!r} ({err.strerror})") from None
    except TimeoutError:
        raise UsageError(f"{url}: no answer to the connection within {timeout:g} s") from None
    except OSError as err:
        raise UsageError(f"{url}: cannot connect ({err.strerror or err})") from None
    not_dask = f"{url}: not a Dask scheduler"
    with sock:
        try:
            head = _recv(sock, 8, deadline)
            if len(head) < 8:
                raise UsageError(f"{not_dask}: it closed the connection without a Dask greeting "
                                 f"(sent {head!r})")
            (size,) = struct.unpack("<Q", head)
            if size > MAX_GREETING:
                raise UsageError(f"{not_dask}: it sent {head!r}..., not a Dask greeting")
            body = _recv(sock, size, deadline)
        except TimeoutError:
            raise UsageError(f"{not_dask}: it accepted the connection but sent no Dask greeting within "
                             f"{timeout:g} s (a Dask scheduler greets at once)") from None
        except OSError as err:
            raise UsageError(f"{not_dask}: the connection failed ({err.strerror or err})") from None
    try:
        frames, _ = unpack_frames(body, partial=True)
        greeting = msgpack.loads(frames[0], raw=False, use_list=False, strict_map_key=False)
    except Exception:  # junk of a plausible size: whatever msgpack or the frame header makes of it
        greeting = None
    if not isinstance(greeting, dict) or not GREETING_KEYS <= set(greeting):
        raise UsageError(f"{not_dask}: it sent {(head + body)[:24]!r}..., not a Dask greeting")
    return url


@contextlib.contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's logging off while the search uses it: its INFO chatter reaches stderr through the root
    handler TensorFlow installs, and its errors (a lost scheduler, a failed worker) are ours to report,
    as one line. ``distributed`` and the loggers under it that have a level of their own
    (``distributed.client``: WARNING in Dask's default config), asyncio and tornado; restored after, but
    left off after a Ctrl-C: the process is ending, and asyncio reports the tasks it cancelled as it
    collects them."""
    names = ["distributed", "asyncio", "tornado"] + sorted(
        name for name, lg in logging.root.manager.loggerDict.items()
        if name.startswith(("distributed.", "tornado.")) and isinstance(lg, logging.Logger) and lg.level)
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    except Exception:
        _restore(loggers, levels)
        raise
    _restore(loggers, levels)


def _restore(loggers: list[logging.Logger], levels: list[int]) -> None:
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread while the local cluster starts. A signal mask is inherited by the
    threads a thread starts and across fork and exec, so the cluster's event-loop thread and every worker
    process it spawns (now or on a restart) keep SIGINT blocked: a Ctrl-C, which the terminal sends to
    the whole process group, reaches only this process, which closes the cluster (workers interrupted
    mid-task would print tracebacks). A Ctrl-C during the start stays pending and is raised here when
    the block ends."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    from multiprocessing import resource_tracker

    # the first spawn starts multiprocessing's resource tracker, and unblocks SIGINT in the spawning thread
    # afterwards (whatever its mask was): started here first, it is not started from the event-loop thread
    resource_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def interrupts_noted() -> Iterator[Callable[[], None]]:
    """A Ctrl-C raises KeyboardInterrupt as usual and is also noted; yields ``check()``, which raises
    KeyboardInterrupt once one was noted. Python drops an exception raised in a weakref callback or
    ``__del__`` (printing "Exception ignored in ... KeyboardInterrupt"), and TensorFlow's garbage makes
    that likely during a fine-tune: a Ctrl-C would be lost and the search run to the end. Such dropped
    interrupts are not printed; the search calls ``check()`` at every step. Outside the main thread, or
    when SIGINT has a handler of someone else's, ``check()`` does nothing."""
    noted: list[int] = []

    def check() -> None:
        if noted:
            raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield check
        return

    def on_sigint(signum: int, frame: Any) -> None:
        noted.append(signum)
        raise KeyboardInterrupt

    def unraisable(info: Any) -> None:
        if not isinstance(info.exc_value, KeyboardInterrupt):
            hook(info)

    hook = sys.unraisablehook
    signal.signal(signal.SIGINT, on_sigint)
    sys.unraisablehook = unraisable
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.unraisablehook = hook


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
def dask_client(workers: int | None = None, scheduler: str | None = None,
                timeout: float | None = None) -> Iterator[tuple[Any, str]]:
    """A ``distributed.Client`` and a description of where it runs; the local cluster is closed at the end.
    Dask logs nothing meanwhile (:func:`_quiet_dask`); local workers never see a Ctrl-C
    (:func:`_sigint_blocked`).

    Raises UsageError for a bad ``workers`` or a ``scheduler`` that is not a reachable Dask scheduler
    (:func:`probe_scheduler`, then Dask's own connection, each within ``timeout`` seconds, default
    CONNECT_TIMEOUT), HlsgenError
    when no worker joins it within WORKER_TIMEOUT seconds or the local cluster does not start.
    """
    check_workers(workers, scheduler)
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    if scheduler is not None:
        url = probe_scheduler(scheduler, timeout)
    from distributed import Client, LocalCluster

    with _quiet_dask():
        if scheduler is not None:
            try:
                client = Client(url, timeout=timeout)
            except (OSError, TimeoutError, ValueError) as err:
                # the probe saw a Dask greeting: a peer that then does not answer as a scheduler is
                # another Dask endpoint (a worker, a nanny)
                why = str(err).splitlines()[0] if str(err) else f"no scheduler reply within {timeout:g} s"
                raise UsageError(f"{url}: a Dask endpoint, but not a scheduler that answers ({why}; "
                                 "a worker's address?)") from None
            try:
                try:
                    client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
                except TimeoutError:
                    raise HlsgenError(f"{url}: no Dask worker joined within {WORKER_TIMEOUT} s "
                                      f"(start one with 'dask worker {url}')") from None
                yield client, f"Dask scheduler {url}"
            finally:
                client.close()
            return
        n = workers or default_workers()
        with warnings.catch_warnings(), _sigint_blocked():
            # without a dashboard the scheduler still serves health checks, on 8787 if free, else any port
            warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
            try:
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                       host="127.0.0.1", silence_logs=logging.CRITICAL)
            except Exception as err:  # a worker could not start (memory, processes, open files)
                raise HlsgenError(f"search: the local Dask cluster of {n} workers did not start: "
                                  f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
        with cluster, Client(cluster) as client:
            yield client, f"local Dask cluster of {n} worker process{'es' * (n != 1)}"
