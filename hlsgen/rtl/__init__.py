"""RTL from the spec with open tools (docs/rtl.md): every stage traced with da4ml into shift-and-add
logic (:mod:`.trace`, exact ap_fixed conversions in :mod:`.arith`, softmax in :mod:`.softmax`), Verilog
written and built with Verilator (:mod:`.build`), the whole network composed of the stage programs
(:mod:`.compose`), simulated and compared bit for bit with the build's ``tb_data`` (:mod:`.command`);
Yosys resource counts per stage (:mod:`.synth`). da4ml, Verilator and Yosys are imported or run only
when a command needs them (:mod:`.tools`)."""

from hlsgen.rtl.command import rtl_command

__all__ = ["rtl_command"]
