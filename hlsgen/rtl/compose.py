"""The whole network as one Verilog design, composed of the per-stage programs.

Every stage with logic is traced alone (the same unit, digest and cache as ``--layers``, so the slow
constant-matrix solves happen once for both), and the network is da4ml's pipeline of those programs: one
register layer in front of each stage and one at the output (latency = number of stages), each stage
da4ml's combinational module of its program. Between two stages this module writes the wiring da4ml
cannot know: stage *a*'s output elements are laid out with the minimal width of the values its program
can produce, stage *b*'s inputs with the full width of its input type, so each element is sign- or
zero-extended and shifted onto *b*'s grid (``link``). The golden model passes *codes* from stage to
stage (a code is read at face value in the next input type), and so does the link; a code of *a* that
could fall outside *b*'s input type is refused, as is a link that would drop fraction bits.

A stage program is exact for every input code of its type (its inputs are declared as the whole type),
so the composition computes exactly what the stages compute in a row.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from hlsgen.fixed import FixedType
from hlsgen.rtl import mac
from hlsgen.rtl.arith import RtlRefusal
from hlsgen.rtl.build import (
    FORMAT,
    Timings,
    Unit,
    load_or_trace,
    module_name,
    source_digests,
    stage_units,
    unit_digest,
    written_intact,
)
from hlsgen.spec import HardwareSpec

NETWORK = "network"


@dataclass(frozen=True)
class Element:
    """One element of a packed bit vector: its offset, width, signedness and fraction bits."""

    offset: int
    width: int
    signed: bool
    frac: int


def _layout(qints) -> list[Element]:
    from hlsgen.rtl.da4ml_api import minimal_kif

    out, offset = [], 0
    for q in qints:
        k, i, f = (int(v) for v in minimal_kif(q))
        out.append(Element(offset, k + i + f, bool(k), f))
        offset += k + i + f
    return out


def _width(qints) -> int:
    return sum(e.width for e in _layout(qints))


def link(a: Unit, comb_a, b: Unit, comb_b, source: str, target: str) -> list[str]:
    """Verilog assignments of ``target`` (stage b's packed inputs) from ``source`` (stage a's packed outputs)."""
    res_t: FixedType = a.output_t
    in_t: FixedType = b.input_t
    outs, ins = _layout(comb_a.out_qint), _layout(comb_b.inp_qint)
    if len(outs) != len(ins):
        raise RtlRefusal(f"{b.name}: {len(ins)} inputs, but {a.name} has {len(outs)} outputs")
    lines = []
    for n, (q, e1, e2) in enumerate(zip(comb_a.out_qint, outs, ins, strict=True)):
        lo, hi, step = (float(v) * 2.0**res_t.frac for v in q)  # codes of a's result type
        if lo < in_t.min_code or hi > in_t.max_code or (step and step != int(step)):
            raise RtlRefusal(f"{b.name}: input {n}: {a.name}'s result codes [{lo:g}, {hi:g}] do not fit {in_t}; "
                             "the whole network cannot be composed (use --layers)")
        if e2.width == 0:
            continue
        # a raw r1 = value * 2^f1 = code * 2^(f1 - res.frac); b reads code * 2^(f2 - in.frac)
        shift = (res_t.frac - e1.frac) + (e2.frac - in_t.frac)
        if shift < 0:
            raise RtlRefusal(f"{b.name}: input {n}: linking {a.name} would drop {-shift} fraction bits")
        dst = f"{target}[{e2.offset + e2.width - 1}:{e2.offset}]"
        keep = e2.width - shift  # bits of r1 that land in the target
        if e1.width == 0 or keep <= 0:  # a constant zero (the interval check leaves no other case)
            lines.append(f"assign {dst} = {e2.width}'d0;")
            continue
        top = e1.offset + min(e1.width, keep) - 1
        parts = []
        if keep > e1.width:
            pad = f"{source}[{e1.offset + e1.width - 1}]" if e1.signed else "1'b0"
            parts.append(f"{{{keep - e1.width}{{{pad}}}}}")
        parts.append(f"{source}[{top}:{e1.offset}]")
        if shift:
            parts.append(f"{shift}'d0")
        lines.append(f"assign {dst} = {{{', '.join(parts)}}};")
    return lines


@dataclass(frozen=True)
class Program:
    """One combinational program of the network: ``comb`` (a ``CombLogic``) of ``unit``, its first or not
    (a weighted stage's check design is two programs, the MAC and the cast: :mod:`.mac`)."""

    comb: object
    unit: Unit
    first: bool
    mac: bool = False


def programs_of(unit: Unit, program) -> list[Program]:
    """The unit's program as a list of :class:`Program` (a ``Pipeline`` gives one per solution)."""
    subs = getattr(program, "solutions", None) or (program,)
    return [Program(c, unit, j == 0, unit.uses_mac and j == 0) for j, c in enumerate(subs)]


def top_module(name: str, programs: list[Program]) -> str:
    """da4ml's pipeline top (``{name}_stage{i}`` modules, one register layer per program and one at the
    output), with :func:`link` between the stages (inside a stage, its programs' layouts are equal)."""
    combs = [p.comb for p in programs]
    inp = [_width(c.inp_qint) for c in combs]
    out = [_width(c.out_qint) for c in combs]
    for p, w_in, w_out in zip(programs, inp, out, strict=True):
        if w_in == 0 or w_out == 0:
            raise RtlRefusal(f"{p.unit.name}: a stage without input or output bits cannot be composed")
    decl, body = [], []
    for i in range(len(combs)):
        decl.append(f"reg [{inp[i] - 1}:0] stage{i}_inp;")
        decl.append(f"wire [{out[i] - 1}:0] stage{i}_out;")
        body.append(f"{name}_stage{i} stage{i} (.model_inp(stage{i}_inp), .model_out(stage{i}_out));")
        if i:
            decl.append(f"wire [{inp[i] - 1}:0] stage{i}_link;")
            a, b = programs[i - 1], programs[i]
            if not b.first:  # the MAC's sums into the cast: one layout on both sides
                if out[i - 1] != inp[i]:
                    raise RtlRefusal(f"{b.unit.name}: its programs' layouts differ ({out[i - 1]} vs {inp[i]} bits)")
                body.append(f"assign stage{i}_link = stage{i - 1}_out;")
            else:
                body += link(a.unit, a.comb, b.unit, b.comb, f"stage{i - 1}_out", f"stage{i}_link")
    clocked = ["stage0_inp <= model_inp;", *(f"stage{i}_inp <= stage{i}_link;" for i in range(1, len(combs))),
               f"model_out <= stage{len(combs) - 1}_out;"]
    nl, nl2 = "\n    ", "\n        "
    return f"""`timescale 1 ns / 1 ps

// hlsgen: the network's stages in a row ({', '.join(p.unit.name for p in programs if p.first)})
module {name} (
    input clk,
    input [{inp[0] - 1}:0] model_inp,
    output reg [{out[-1] - 1}:0] model_out
);
    /* verilator lint_off UNUSEDSIGNAL */
    {nl.join(decl)}
    /* verilator lint_on UNUSEDSIGNAL */

    {nl.join(body)}

    always @(posedge clk) begin
        {nl2.join(clocked)}
    end
endmodule
"""


def network_dir(spec: HardwareSpec, root: Path) -> Path:
    """The composed network's directory: its digest is made of the stages' digests."""
    h = hashlib.sha256(json.dumps({"format": FORMAT, "compose": 2, "input_t": str(spec.input_t),
                                   "stages": [unit_digest(u) for u in stage_units(spec)]}).encode())
    return root / f"{NETWORK}-{h.hexdigest()[:16]}"


def write_network(spec: HardwareSpec, root: Path, log=print, timings: Timings | None = None):
    """The whole network's da4ml project (stages traced now or loaded from their ``--layers`` cache):
    returns ``(VerilogModel, directory)``."""
    from da4ml.codegen import VerilogModel

    from hlsgen.rtl import da4ml_api

    units = stage_units(spec)
    path, prj = network_dir(spec, root), module_name(NETWORK)
    if written_intact(path):
        try:
            return VerilogModel(da4ml_api.load_program(path / "model", pipeline=True), prj, path), path
        except (OSError, ValueError, KeyError, TypeError):
            pass  # an incomplete or foreign entry: write again
    elif (path / "written.json").exists():
        log(f"rtl: {NETWORK}: {path} differs from what was written (a file edited, added or removed); writing "
            "it again")
    programs = []
    for u in units:
        program, _ = load_or_trace(u, root, log, timings)
        programs += programs_of(u, program)
    top = top_module(prj, programs)  # refusals before anything is written
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    t = time.perf_counter()
    model = VerilogModel(da4ml_api.Pipeline(tuple(p.comb for p in programs)), prj, path)
    model.write()
    (path / "src" / f"{prj}.v").write_text(top)  # da4ml's top assumes equal layouts on both sides of a register
    for i, p in enumerate(programs):
        if p.mac:  # the stub's module replaced by the MAC
            (path / "src" / f"{prj}_stage{i}.v").write_text(mac.verilog(p.unit.stages[0], p.unit.input_t,
                                                                        f"{prj}_stage{i}"))
    (path / "written.json").write_text(json.dumps({"stages": [u.name for u in units],
                                                   "ops": sum(len(p.comb.ops) for p in programs),
                                                   "write_s": time.perf_counter() - t,
                                                   "files": source_digests(path)}))
    return model, path
