"""hlsgen search as an attacker and a confused user would run it (#26 defect 7): a scheduler address that
is not a Dask scheduler (an HTTP server, a port sending a banner, a listener that never replies, a closed
port, a Dask endpoint that is not a scheduler), ``--workers`` beyond the machine, bad ``--bits``: each one
line and exit 2 within seconds, before any data is loaded or model trained, with real listeners on
127.0.0.1. A Ctrl-C to the process group of a running search: exit 130, "hlsgen: interrupted", no worker
traceback."""

from __future__ import annotations

import asyncio
import copy
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from specs import REFERENCE, mnist_subset, tiny_search_config

from hlsgen.cli import main
from hlsgen.errors import UsageError
from hlsgen.search import command as search
from hlsgen.search import scheduler

QUICK = 2.0  # s: the connect timeout these tests give the search (CONNECT_TIMEOUT is 10 s)


def _serve(sock: socket.socket, on_accept) -> threading.Thread:
    def loop():
        held = []
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:  # closed by the fixture
                return
            held.append(conn)  # kept open, never replied to unless on_accept sends
            on_accept(conn)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


@pytest.fixture
def listener():
    """``listener(kind)`` -> ``tcp://127.0.0.1:PORT`` of a real peer: "http" (http.server), "banner" (sends
    an SSH banner on accept), "silent" (accepts, never replies), "closed" (nothing listens), "dask" (a Dask
    comm listener, which greets, but no scheduler: it never answers a request)."""
    cleanup = []

    def make(kind: str) -> str:
        if kind == "http":
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            cleanup.append(server.shutdown)
            cleanup.append(server.server_close)
            return f"tcp://127.0.0.1:{server.server_address[1]}"
        if kind == "dask":
            return _dask_listener(cleanup)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        if kind == "closed":
            sock.close()
            return f"tcp://127.0.0.1:{port}"
        sock.listen()
        cleanup.append(sock.close)
        _serve(sock, (lambda c: c.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")) if kind == "banner" else (lambda c: None))
        return f"tcp://127.0.0.1:{port}"

    yield make
    for fn in cleanup:
        fn()


def _dask_listener(cleanup: list) -> str:
    """A ``distributed.comm`` listener on its own event loop: it sends Dask's greeting, then never replies."""
    from distributed.comm import listen

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box = {}

    async def start():
        async def handle(comm):
            await asyncio.sleep(3600)

        box["listener"] = listen("tcp://127.0.0.1:0", handle)
        await box["listener"].start()
        ready.set()

    threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True).start()
    assert ready.wait(10)
    cleanup.append(lambda: loop.call_soon_threadsafe(loop.stop))
    return box["listener"].contact_address


@pytest.fixture
def steps(monkeypatch):
    """What the search did: "data" when it loaded the data; training the float model fails the test (every
    refusal below must come before it)."""
    done = []
    load = search.load_mnist

    def load_mnist(path):
        done.append("data")
        return load(path)

    def trained(*args, **kwargs):
        raise AssertionError("the search trained before checking its arguments")

    monkeypatch.setattr(search, "load_mnist", load_mnist)
    monkeypatch.setattr(search, "_float_model", trained)
    monkeypatch.setattr(scheduler, "CONNECT_TIMEOUT", QUICK)
    return done


@pytest.fixture
def cfg(tmp_path, steps):
    """The reference config on 100 + 100 MNIST images."""
    raw = copy.deepcopy(REFERENCE)
    raw["data"]["path"] = str(mnist_subset(tmp_path / "mnist.npz", 100, 100))
    raw["output_dir"] = str(tmp_path / "build" / "x")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _refused(args: list[str], capsys) -> tuple[str, float]:
    start = time.monotonic()
    code = main(["search", *args])
    seconds = time.monotonic() - start
    out, err = capsys.readouterr()
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("hlsgen: error: "), err
    assert "Traceback" not in err and out == ""
    return err, seconds


@pytest.mark.parametrize(("kind", "why"), [
    ("http", "sent no Dask greeting within 2 s"),
    ("banner", "sent b'SSH-2.0-'..., not a Dask greeting"),
    ("silent", "sent no Dask greeting within 2 s"),
    ("closed", "connection refused"),
    ("dask", "a Dask endpoint, but not a scheduler that answers"),
])
def test_scheduler_that_is_not_dask_is_one_line_before_training(kind, why, listener, cfg, steps, tmp_path,
                                                                  capsys):
    address = listener(kind)
    err, seconds = _refused([str(cfg), "--scheduler", address, "--output", str(tmp_path / "out")], capsys)
    assert address in err and why in err, err
    # no data loaded for a peer that is not Dask at all; a Dask endpoint that is not a scheduler is found
    # when the client connects: after the data, before the float model
    assert steps == (["data"] if kind == "dask" else [])
    # the probe's deadline, and Dask's own connect for the "dask" peer: 2 s each, plus imports
    assert seconds < 2 * QUICK + 8, seconds
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("address", "why"), [
    ("", "not an address"),
    ("tcp://127.0.0.1:99999", "port 99999 out of range"),
    ("tcp://127.0.0.1", "no port number"),
    ("tls://127.0.0.1:8786", "scheme 'tls' is not supported"),
    ("tcp://:8786", "no host"),
    ("tcp://127.0.0.1:8786\n", "not an address"),
    ("tcp://no-such-host.invalid:8786", "unknown host"),
])
def test_malformed_scheduler_address(address, why, cfg, tmp_path, capsys):
    err, _ = _refused([str(cfg), "--scheduler", address, "--output", str(tmp_path / "out")], capsys)
    assert why in err and repr(address)[1:-1] in err, err


def test_scheduler_address_forms():
    assert scheduler.scheduler_address("127.0.0.1:8786") == ("tcp://127.0.0.1:8786", "127.0.0.1", 8786)
    assert scheduler.scheduler_address("tcp://head:8786") == ("tcp://head:8786", "head", 8786)
    assert scheduler.scheduler_address("tcp://[::1]:8786") == ("tcp://[::1]:8786", "::1", 8786)
    for bad in ("tcp://head:+8786", "tcp://head:8_786", "tcp://head:", "tcp://a:b:c", "tcp://head:8786 "):
        with pytest.raises(UsageError, match="--scheduler"):
            scheduler.scheduler_address(bad)


def test_workers_beyond_the_machine_are_refused_before_training(cfg, tmp_path, capsys):
    most = scheduler.max_workers()
    cores = len(os.sched_getaffinity(0))
    assert 1 <= most <= scheduler.WORKERS_PER_CORE * cores
    err, seconds = _refused([str(cfg), "--workers", "10000", "--output", str(tmp_path / "out")], capsys)
    assert f"--workers 10000: at most {most}" in err and seconds < 5
    err, _ = _refused([str(cfg), "--workers", str(most + 1), "--output", str(tmp_path / "out")], capsys)
    assert f"at most {most}" in err
    err, _ = _refused([str(cfg), "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], capsys)
    assert "--workers 2: applies to the local cluster only" in err
    scheduler.check_workers(most, None)  # the bound itself is accepted


def test_missing_data_is_one_line_before_any_cluster_starts(cfg, tmp_path, monkeypatch, capsys):
    def cluster(*args, **kwargs):
        raise AssertionError("a cluster started before the data was read")

    monkeypatch.setattr(scheduler, "dask_client", cluster)
    raw = yaml.safe_load(cfg.read_text())
    raw["data"]["path"] = str(tmp_path / "missing.npz")
    cfg.write_text(yaml.safe_dump(raw))
    err, seconds = _refused([str(cfg), "--workers", "2"], capsys)
    assert "missing.npz" in err and seconds < 5, (err, seconds)


def test_default_workers_follow_the_usable_cores(monkeypatch):
    import resource

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})  # taskset -c 3, or a 1-CPU container
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1 << 20, 1 << 20))
    assert scheduler.default_workers() == 1 and scheduler.max_workers() == scheduler.WORKERS_PER_CORE
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.setattr(resource, "getrlimit", lambda which: (scheduler.FDS_RESERVED + 5 * 16, 1 << 20))
    assert scheduler.default_workers() == 5  # 16 cores, files for 5 workers


def test_unwritable_output_is_one_line_before_the_data(cfg, steps, capsys):
    err, _ = _refused([str(cfg), "--output", "/proc/hlsgen-search"], capsys)  # mkdir in /proc: ENOENT
    assert "/proc/hlsgen-search: cannot write there" in err and steps == []


def test_workers_bounded_by_the_open_files_limit(monkeypatch):
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda which: (scheduler.FDS_RESERVED + 3 * 16, 1 << 20))
    assert scheduler.max_workers() == min(3, scheduler.WORKERS_PER_CORE * len(os.sched_getaffinity(0)))
    monkeypatch.setattr(resource, "getrlimit", lambda which: (64, 64))
    assert scheduler.max_workers() == 1
    with pytest.raises(UsageError, match="--workers 2: at most 1"):
        scheduler.check_workers(2, None)


@pytest.mark.parametrize(("bits", "why"), [
    ("0..4", "1 <= LO <= HI <= 62"), ("2..63", "1 <= LO <= HI <= 62"), ("8..2", "1 <= LO <= HI <= 62"),
    ("99999999999999999999", "expected LO..HI"), ("\u0663..\u0668", "expected LO..HI"), ("+2..8", "expected LO..HI"),
    ("2..8..9", "expected LO..HI"), ("", "expected LO..HI"),
])
def test_bad_bits_are_one_line(bits, why, cfg, capsys):
    with pytest.raises(UsageError, match="--bits"):
        search.parse_bits(bits)
    err, _ = _refused([str(cfg), "--bits", bits], capsys)
    assert why in err, err


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"max_drop": float("nan")}, "--max-drop"), ({"max_drop": -0.1}, "--max-drop"),
    ({"qat_epochs": -1}, "--qat-epochs"), ({"test_images": 0}, "--test-images"), ({"bits": (0, 8)}, "--bits"),
    ({"bits": (2, 63)}, "--bits"), ({"workers": 0}, "--workers"), ({"scheduler": ""}, "--scheduler"),
])
def test_search_command_checks_its_arguments_first(kwargs, why, cfg):
    with pytest.raises(UsageError, match=why):
        search.search_command(cfg, **kwargs)


def test_dask_logs_nothing_while_the_search_uses_it():
    """distributed.client has a level of its own (WARNING): its "Failed to reconnect to scheduler" came
    through when the scheduler died mid-search, beside hlsgen's one line."""
    import io
    import logging

    import distributed  # noqa: F401  (its logging config)

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    targets = [logging.root, logging.getLogger("distributed")]  # TensorFlow's root handler; Dask's own
    for lg in targets:
        lg.addHandler(handler)
    try:
        with scheduler._quiet_dask():
            for name in ("distributed.client", "distributed.scheduler", "distributed.nanny", "asyncio", "tornado"):
                logging.getLogger(name).error("must not show")
        logging.getLogger("distributed.client").error("shows again")
        with pytest.raises(UsageError), scheduler._quiet_dask():  # a failed search restores them too
            raise UsageError("x")
        logging.getLogger("distributed.nanny").error("after an error")
    finally:
        for lg in targets:
            lg.removeHandler(handler)
    shown = stream.getvalue()
    assert "must not show" not in shown and "shows again" in shown and "after an error" in shown, shown


# ------------------------------------------------------------------------------ Ctrl-C (a real SIGINT)

def _tiny(root: Path) -> Path:
    return tiny_search_config(root, 600, 300, units=8, epochs=1)


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["search: PTQ evaluations on", "search: no matching training"])
def test_ctrl_c_to_the_process_group_exits_130_without_worker_tracebacks(moment, tmp_path):
    """SIGINT to the whole process group, as a terminal sends it, while the PTQ tasks run on 2 local worker
    processes (and, with the cluster already up, while the float model trains): exit 130, one line."""
    cfg = _tiny(tmp_path)
    # without PYTHONUNBUFFERED: hlsgen's own line buffering must show `moment` when it happens (a block-buffered
    # pipe showed it at the end, and the Ctrl-C then hit the interpreter's shutdown: killed by SIGINT, -2)
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from hlsgen.cli import main; sys.exit(main())",
                             "search", str(cfg), "--workers", "2", "--output", str(tmp_path / "out"),
                             "--qat-epochs", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            cwd=tmp_path, env=env)
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith(moment):
                break
        else:
            pytest.fail(f"the search ended before {moment!r}: {seen} {proc.stderr.read()}")
        time.sleep(0.5)  # the tasks (or the training) under way
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.splitlines()[-1:] == ["hlsgen: interrupted"], err
    assert not (tmp_path / "out").exists()
