"""A fake pynq for tests (no board here): ``Overlay``, ``allocate`` and the AXI DMA's ``sendchannel`` /
``recvchannel`` with pynq 3.x's API (``transfer(array, start=0, nbytes=0)``, ``wait()``, ``idle``, ``error``,
``transferred``), behind which the C simulation of the AXI top (the project's ``build/stream_sim``, from
``make board-sim``) reads and writes the stream beat by beat, as the IP behind a real DMA would.

- ``Overlay(bitfile)`` needs the ``.bit`` and, beside it, the ``.hwh`` (as pynq does); the hwh here is the
  block design the fake Vivado recorded (JSON, tests/board/fake_tools): every ``axi_dma`` cell becomes an
  attribute, its stream width taken from the recorded ``CONFIG.c_m_axis_mm2s_tdata_width`` and
  ``CONFIG.c_s_axis_s2mm_tdata_width`` (a width the IP does not have garbles the data, as on a board).
- ``FAKE_PYNQ_SIM``: the stream simulator to run (required).
- The send channel splits a transfer into beats, TLAST on the last (the DMA's MM2S in simple mode); the
  receive channel fills its buffer beat by beat until TLAST; a packet longer than the buffer is the DMA's
  internal error (DMAIntErr: ``wait()`` raises, as pynq does); ``transferred`` is the bytes written.
- Mutations: ``FAKE_PYNQ_DROP_LAST_BEAT=1`` (MM2S drops the last beat of every send),
  ``FAKE_PYNQ_SHORT_RECV=1`` (S2MM's buffer one beat shorter than asked).
- ``wait()`` of a real DMA spins for ever when nothing comes; this one gives up after 60 s.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

__version__ = "3.0.1+fake"


class PynqBuffer(np.ndarray):
    """A contiguous buffer; its 'physical address' is aligned to 4 KB, as CMA buffers are."""

    physical_address = 0x1000_0000

    def flush(self):
        pass

    def invalidate(self):
        pass

    def freebuffer(self):
        pass

    close = freebuffer


def allocate(shape, dtype="u4", **_kwargs):
    return np.zeros(shape, dtype=dtype).view(PynqBuffer)


class _Sim:
    """The stream simulator as a process: beats in on stdin, beats out (collected by a thread) on stdout."""

    def __init__(self, beat_bytes: int):
        sim = os.environ.get("FAKE_PYNQ_SIM")
        if not sim or not Path(sim).is_file():
            raise RuntimeError(f"fake pynq: FAKE_PYNQ_SIM={sim!r} is not the stream simulator (make board-sim)")
        self.beat = beat_bytes
        self.proc = subprocess.Popen([sim], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.out: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        size = self.beat + 1
        while True:
            rec = self.proc.stdout.read(size)
            if not rec or len(rec) < size:
                return
            self.out.put((rec[: self.beat], rec[self.beat] & 1))

    def send(self, data: bytes, last_flags: list[int]):
        recs = b"".join(data[i * self.beat:(i + 1) * self.beat] + bytes([f]) for i, f in enumerate(last_flags))
        self.proc.stdin.write(recs)
        self.proc.stdin.flush()


class _Channel:
    def __init__(self, sim: _Sim, send: bool):
        self._sim, self._send = sim, send
        self._idle, self._error, self._first = True, False, True
        self._dest, self._filled = None, 0
        self.transferred = 0

    @property
    def running(self):
        return True

    @property
    def idle(self):
        self._pump()
        return self._idle

    @property
    def error(self):
        self._pump()
        return self._error

    def transfer(self, array, start=0, nbytes=0):
        if not self._idle and not self._first:
            raise RuntimeError("DMA channel not idle")
        if nbytes == 0:
            nbytes = array.nbytes - start
        beat = self._sim.beat
        if (array.physical_address + start) % beat:
            raise RuntimeError(f"DMA does not support unaligned transfers; Starting address must be aligned to "
                               f"{beat} bytes.")
        mem = np.asarray(array).reshape(-1).view(np.uint8)[start:start + nbytes]
        self._first, self.transferred = False, 0
        if self._send:
            beats = -(-nbytes // beat)
            data = bytes(mem) + bytes(beats * beat - nbytes)
            flags = [0] * (beats - 1) + [1]
            if os.environ.get("FAKE_PYNQ_DROP_LAST_BEAT") == "1":
                flags = flags[:-1]
                flags[-1:] = [1] * bool(flags)
            self._sim.send(data, flags)
            self.transferred, self._idle = nbytes, True
        else:
            if os.environ.get("FAKE_PYNQ_SHORT_RECV") == "1":
                mem = mem[: max(0, len(mem) - beat)]
            self._dest, self._filled, self._idle, self._error = mem, 0, False, False

    def _pump(self):
        if self._send or self._idle or self._error:
            return
        beat = self._sim.beat
        while True:
            try:
                data, last = self._sim.out.get_nowait()
            except queue.Empty:
                return
            if self._filled + beat > len(self._dest):
                self._error = True  # the packet is longer than the buffer: DMAIntErr, the channel halts
                return
            self._dest[self._filled:self._filled + beat] = np.frombuffer(data, dtype=np.uint8)
            self._filled += beat
            if last:
                self._idle = True
                return

    def wait(self):
        deadline = time.monotonic() + 60
        while not self.idle:
            if self._error:
                raise RuntimeError("DMA Internal Error (transfer length 0?)")
            if time.monotonic() > deadline:
                raise TimeoutError("fake pynq: the DMA never went idle (a real one would spin for ever)")
            time.sleep(0.0005)
        if self._error:
            raise RuntimeError("DMA Internal Error (transfer length 0?)")
        self.transferred = self._filled if not self._send else self.transferred


class DMA:
    def __init__(self, name: str, config: dict):
        widths = {int(config.get("CONFIG.c_m_axis_mm2s_tdata_width", 32)),
                  int(config.get("CONFIG.c_s_axis_s2mm_tdata_width", 32))}
        if len(widths) != 1:
            raise RuntimeError(f"fake pynq: {name}: MM2S and S2MM stream widths differ ({sorted(widths)})")
        sim = _Sim(widths.pop() // 8)
        self.sendchannel, self.recvchannel = _Channel(sim, True), _Channel(sim, False)


class Overlay:
    def __init__(self, bitfile_name, dtbo=None, download=True, ignore_version=False, device=None):
        bit = Path(bitfile_name)
        hwh = bit.with_suffix(".hwh")
        for path in (bit, hwh):
            if not path.is_file():
                raise OSError(f"{path} does not exist.")
        design = json.loads(hwh.read_text())
        for name, cell in design["cells"].items():
            if cell["vlnv"].startswith("xilinx.com:ip:axi_dma:"):
                setattr(self, name, DMA(name, cell["config"]))
