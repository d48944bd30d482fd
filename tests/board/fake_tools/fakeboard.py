"""Fake Vitis HLS (``make ip``) and Vivado (``make bitstream``) for the board tests (neither tool is here).

``vitis_hls -f board/hls_ip.tcl`` runs the script under ``tclsh`` with the Vitis commands stubbed
(``hls_stubs.tcl``); ``export_design -format ip_catalog`` writes ``<prj>/solution1/impl/ip/component.xml``
naming the IP (``xilinx.com:hls:<top>_axi:1.0``) and its AXI4-Stream ports as Vitis HLS would make them from
the C++: each ``#pragma HLS INTERFACE axis port=P`` of the top (the first argument read: slave; the second
written: master), TDATA as wide as the ``hls::axis<ap_uint<W>, ...>`` of ``firmware/<top>_axi.h``, plus
``ap_clk`` and ``ap_rst_n``.

``vivado -mode batch -source board/bitstream.tcl`` runs the script under ``tclsh`` with the Vivado commands
stubbed (``vivado_stubs.tcl``), which record every block-design command; this module builds the block design
as a graph from that record (:func:`build`), with each IP's interface and clock/reset pins as Vivado's IP
catalog defines them for the configuration set (:func:`pins`), and checks it (:func:`check`): every
interface pin connected, the DMA's stream widths equal the IP's, every clock and reset input driven by the PS's
PL clock and a reset, the address map covering the DMA's registers from the PS and DDR from both DMA channels
along connected paths, scatter-gather off, the HP port as wide as PYNQ configures it. ``validate_bd_design``
fails on any problem, as Vivado's validation would; after ``wait_on_run impl_1`` the bitstream and the
hardware handoff (here the recorded design as JSON, which the fake pynq reads) appear where Vivado writes
them; ``report_utilization`` / ``report_timing_summary`` write real Vivado reports (tests/board/data).

``FAKE_VIVADO_VERSION`` (default 2023.2) answers ``vivado -version``; ``FAKE_VIVADO_LOG`` (default
``board/vivado/fake_vivado.tsv``) is the record.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
LOG = "board/vivado/fake_vivado.tsv"
#: the HP port widths the PYNQ images configure (tests/board/boards: Board.hp_bits)
PYNQ_HP_BITS = {"zynq7": 64, "zynqmp": 128}


def main(tool: str, argv: list[str]) -> int:
    if argv[:1] == ["-version"]:
        print(f"{tool} v{os.environ.get('FAKE_VIVADO_VERSION', '2023.2')} (64-bit)")
        return 0
    if tool == "vitis_hls" and argv[:1] == ["-f"]:
        return subprocess.run(["tclsh", str(HERE / "hls_stubs.tcl"), argv[1]]).returncode
    if tool == "vivado" and "-source" in argv:
        log = Path(os.environ.setdefault("FAKE_VIVADO_LOG", LOG))
        log.parent.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
        return subprocess.run(["tclsh", str(HERE / "vivado_stubs.tcl"), argv[argv.index("-source") + 1]]).returncode
    print(f"fake {tool}: unsupported arguments {argv}", file=sys.stderr)
    return 2


# ----------------------------------------------------------------------------------------------- Vitis HLS

def hls_synth(top: str, files: list[str]) -> None:
    if not any(re.search(rf"\bvoid\s+{re.escape(top)}\s*\(", Path(f).read_text()) for f in files):
        raise SystemExit(f"ERROR: [fake vitis_hls] the top function '{top}' is not defined in {files}")


def hls_export(ipdir: str, top: str, name: str, files: list[str]) -> None:
    hls_synth(top, files)
    cpp = next(Path(f) for f in files if re.search(rf"\bvoid\s+{re.escape(top)}\s*\(", Path(f).read_text()))
    header = cpp.with_suffix(".h").read_text()
    width = int(re.search(r"hls::axis<ap_uint<(\d+)>", header)[1])
    ports = re.findall(r"#pragma HLS INTERFACE axis port=(\w+)", cpp.read_text())
    root = ET.Element("component", vlnv=f"xilinx.com:hls:{name}:1.0")
    for port, mode in zip(ports, ("slave", "master"), strict=False):
        ET.SubElement(root, "busInterface", name=port, mode=mode, type="axis", width=str(width))
    out = Path(ipdir)
    out.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(out / "component.xml")


# ----------------------------------------------------------------------------------------------- Vivado

def build(log: Path) -> dict:
    """The block design recorded in ``log``: cells (vlnv, config), interface and plain nets, address
    assignments, the PS automation, the IP repositories, the flow."""
    g = {"cells": {}, "intf_nets": [], "nets": [], "addresses": [], "automation": [], "flow": [],
         "ip_repo_paths": [], "board_part": None, "project": None}
    for line in log.read_text().splitlines():
        cmd, *args = line.split("\t")
        if cmd == "create_project":
            g["project"] = {"name": args[0], "dir": args[1], "part": args[args.index("-part") + 1]}
        elif cmd == "set_property" and args[0] == "-dict":
            cell = args[2].removeprefix("cell:")
            words = args[1].split()
            g["cells"][cell]["config"].update(zip(words[0::2], words[1::2], strict=True))
        elif cmd == "set_property" and args[0] == "ip_repo_paths":
            g["ip_repo_paths"] = args[1].split()
        elif cmd == "set_property" and args[0] == "board_part":
            g["board_part"] = args[1]
        elif cmd == "create_bd_cell":
            g["cells"][args[-1]] = {"vlnv": args[args.index("-vlnv") + 1], "config": {}}
        elif cmd == "apply_bd_automation":
            g["automation"].append(args[-1].removeprefix("cell:"))
        elif cmd == "connect_bd_intf_net":
            g["intf_nets"].append([a.removeprefix("intf:") for a in args])
        elif cmd == "connect_bd_net":
            g["nets"].append([a.removeprefix("pin:") for a in args])
        elif cmd == "assign_bd_address":
            space = next(a for a in args if a.startswith("space:")).removeprefix("space:")
            seg = next(a for a in args if a.startswith("seg:")).removeprefix("seg:")
            offset = args[args.index("-offset") + 1] if "-offset" in args else None
            g["addresses"].append({"space": space, "segment": seg, "offset": offset})
        else:
            g["flow"].append([cmd, *args])
    return g


def _on(config: dict, key: str, default: str) -> bool:
    return str(config.get(key, default)) == "1"


def pins(cell: str, vlnv: str, config: dict, repos: list[str]) -> dict:
    """The pins of a cell as the IP defines them for ``config``: ``intf`` {name: (mode, kind, width)},
    ``clk_in``, ``clk_out``, ``rst_in``, ``rst_out``, address ``spaces`` {space: master intf},
    ``segments`` {segment: slave intf}; or ``unknown``."""
    ip = vlnv.rsplit(":", 1)[0]
    p = {"intf": {}, "clk_in": [], "clk_out": [], "rst_in": [], "rst_out": [], "spaces": {}, "segments": {},
         "external": []}
    if ip == "xilinx.com:ip:processing_system7":
        p["external"] = ["DDR", "FIXED_IO"]
        if _on(config, "CONFIG.PCW_USE_M_AXI_GP0", "1"):
            p["intf"]["M_AXI_GP0"] = ("master", "aximm", 32)
            p["clk_in"].append("M_AXI_GP0_ACLK")
            p["spaces"]["Data"] = "M_AXI_GP0"
        if _on(config, "CONFIG.PCW_USE_S_AXI_HP0", "0"):
            p["intf"]["S_AXI_HP0"] = ("slave", "aximm", int(config.get("CONFIG.PCW_S_AXI_HP0_DATA_WIDTH", 64)))
            p["clk_in"].append("S_AXI_HP0_ACLK")
            p["segments"]["S_AXI_HP0/HP0_DDR_LOWOCM"] = "S_AXI_HP0"
        p["clk_out"], p["rst_out"] = ["FCLK_CLK0"], ["FCLK_RESET0_N"]
    elif ip == "xilinx.com:ip:zynq_ultra_ps_e":
        masters = (("0", "M_AXI_HPM0_FPD", "maxihpm0_fpd_aclk"), ("1", "M_AXI_HPM1_FPD", "maxihpm1_fpd_aclk"),
                   ("2", "M_AXI_HPM0_LPD", "maxihpm0_lpd_aclk"))
        for gp, port, clk in masters:
            if _on(config, f"CONFIG.PSU__USE__M_AXI_GP{gp}", "1"):
                p["intf"][port] = ("master", "aximm", 32)
                p["clk_in"].append(clk)
                p["spaces"].setdefault("Data", port)
        if _on(config, "CONFIG.PSU__USE__S_AXI_GP2", "0"):
            p["intf"]["S_AXI_HP0_FPD"] = ("slave", "aximm", int(config.get("CONFIG.PSU__SAXIGP2__DATA_WIDTH", 128)))
            p["clk_in"].append("saxihp0_fpd_aclk")
            p["segments"]["SAXIGP2/HP0_DDR_LOW"] = "S_AXI_HP0_FPD"
        p["clk_out"], p["rst_out"] = ["pl_clk0"], ["pl_resetn0"]
    elif ip == "xilinx.com:ip:axi_dma":
        sg = _on(config, "CONFIG.c_include_sg", "1")
        p["intf"] = {"S_AXI_LITE": ("slave", "axilite", 32), "M_AXI_MM2S": ("master", "aximm", 0),
                     "M_AXI_S2MM": ("master", "aximm", 0),
                     "M_AXIS_MM2S": ("master", "axis", int(config.get("CONFIG.c_m_axis_mm2s_tdata_width", 32))),
                     "S_AXIS_S2MM": ("slave", "axis", int(config.get("CONFIG.c_s_axis_s2mm_tdata_width", 32)))}
        p["clk_in"] = ["s_axi_lite_aclk", "m_axi_mm2s_aclk", "m_axi_s2mm_aclk"]
        if sg:
            p["intf"]["M_AXI_SG"] = ("master", "aximm", 32)
            p["clk_in"].append("m_axi_sg_aclk")
            if _on(config, "CONFIG.c_sg_include_stscntrl_strm", "1"):
                p["intf"]["M_AXIS_CNTRL"] = ("master", "axis", 32)
                p["intf"]["S_AXIS_STS"] = ("slave", "axis", 32)
        p["rst_in"] = ["axi_resetn"]
        p["spaces"] = {"Data_MM2S": "M_AXI_MM2S", "Data_S2MM": "M_AXI_S2MM"}
        p["segments"] = {"S_AXI_LITE/Reg": "S_AXI_LITE"}
    elif ip == "xilinx.com:ip:smartconnect":
        for k in range(int(config.get("CONFIG.NUM_SI", 1))):
            p["intf"][f"S{k:02d}_AXI"] = ("slave", "aximm", 0)
        for k in range(int(config.get("CONFIG.NUM_MI", 1))):
            p["intf"][f"M{k:02d}_AXI"] = ("master", "aximm", 0)
        p["clk_in"], p["rst_in"] = ["aclk"], ["aresetn"]
    elif ip == "xilinx.com:ip:proc_sys_reset":
        p["clk_in"], p["rst_in"] = ["slowest_sync_clk"], ["ext_reset_in"]
        p["rst_out"] = ["peripheral_aresetn", "interconnect_aresetn"]
    elif vlnv.startswith("xilinx.com:hls:"):
        xml = next((Path(r) / "component.xml" for r in repos if (Path(r) / "component.xml").is_file()), None)
        root = ET.parse(xml).getroot() if xml is not None else None
        if root is None or root.get("vlnv") != vlnv:
            p["unknown"] = f"{cell}: no IP {vlnv} in the IP repositories {repos} (run make ip)"
            return p
        for bus in root.iter("busInterface"):
            p["intf"][bus.get("name")] = (bus.get("mode"), bus.get("type"), int(bus.get("width")))
        p["clk_in"], p["rst_in"] = ["ap_clk"], ["ap_rst_n"]
    else:
        p["unknown"] = f"{cell}: {vlnv} is not an IP this fake knows"
    return p


def _reach(g: dict, start: str, cells: dict) -> set[str]:
    """Interface pins reachable from ``start`` over interface nets, through SmartConnects (any slave port to
    any master port of the same SmartConnect)."""
    seen, todo = {start}, [start]
    while todo:
        pin = todo.pop()
        for net in g["intf_nets"]:
            if pin in net:
                for other in net:
                    if other not in seen:
                        seen.add(other)
                        todo.append(other)
        cell, name = pin.split("/", 1)
        if cells.get(cell, {}).get("vlnv", "").startswith("xilinx.com:ip:smartconnect:"):
            for other in cells[cell]["pins"]["intf"]:
                full = f"{cell}/{other}"
                if other != name and full not in seen:
                    seen.add(full)
                    todo.append(full)
    return seen


def check(g: dict, record: dict | None = None) -> list[str]:
    """What Vivado's validation (and the board) would refuse in the recorded design; [] when none."""
    problems = []
    cells = g["cells"]
    for name, cell in cells.items():
        cell["pins"] = pins(name, cell["vlnv"], cell["config"], g["ip_repo_paths"])
        if "unknown" in cell["pins"]:
            problems.append(cell["pins"]["unknown"])
    intf_count: dict[str, int] = {}
    for a, b in g["intf_nets"]:
        for pin in (a, b):
            cell, port = pin.split("/", 1)
            if cell not in cells or port not in cells[cell]["pins"]["intf"]:
                problems.append(f"connect_bd_intf_net: {pin} is not an interface pin of the design")
            intf_count[pin] = intf_count.get(pin, 0) + 1
        ends = [cells.get(p.split("/")[0], {}).get("pins", {}).get("intf", {}).get(p.split("/", 1)[1]) for p in (a, b)]
        if all(ends):
            (ma, ka, wa), (mb, kb, wb) = ends
            if {ma, mb} != {"master", "slave"}:
                problems.append(f"{a} -> {b}: {ma} to {mb}")
            if "axis" in (ka, kb) and (ka != kb or wa != wb):
                problems.append(f"{a} ({ka}, {wa} bits) -> {b} ({kb}, {wb} bits): stream widths differ")
    for name, cell in cells.items():
        automated = name in g["automation"]
        for port in cell["pins"]["intf"]:
            n = intf_count.get(f"{name}/{port}", 0)
            if n != 1:
                problems.append(f"{name}/{port}: {'not connected' if n == 0 else f'{n} connections'}")
        if cell["pins"]["external"] and not automated:
            problems.append(f"{name}: {', '.join(cell['pins']['external'])} not made external (no board automation)")
    outputs = {f"{n}/{p}": kind for n, c in cells.items() for kind in ("clk_out", "rst_out")
               for p in c["pins"][kind]}
    for name, cell in cells.items():
        for kind, want in (("clk_in", "clk_out"), ("rst_in", "rst_out")):
            for port in cell["pins"][kind]:
                pin = f"{name}/{port}"
                nets = [net for net in g["nets"] if pin in net]
                drivers = [p for net in nets for p in net if outputs.get(p) == want]
                if len(nets) != 1 or len(drivers) != 1:
                    what = "clock" if kind == "clk_in" else "reset"
                    problems.append(f"{pin}: {what} input not driven by exactly one {what} output")
    pl_clocks = {f"{n}/{p}" for n, c in cells.items() for p in c["pins"]["clk_out"]}
    for net in g["nets"]:
        if any(p in pl_clocks for p in net) and len({p for p in net if p in pl_clocks}) > 1:
            problems.append(f"{net}: more than one clock drives this net")
    for entry in g["addresses"]:
        space_cell, space = entry["space"].split("/", 1)
        seg_cell, seg = entry["segment"].split("/", 1)
        master = cells.get(space_cell, {}).get("pins", {}).get("spaces", {}).get(space)
        slave = cells.get(seg_cell, {}).get("pins", {}).get("segments", {}).get(seg)
        if master is None or slave is None:
            problems.append(f"assign_bd_address: {entry['space']} -> {entry['segment']}: no such space or segment")
        elif f"{seg_cell}/{slave}" not in _reach(g, f"{space_cell}/{master}", cells):
            problems.append(f"assign_bd_address: {entry['segment']} is not reachable from {entry['space']}")
    for name, cell in cells.items():
        for space, master in cell["pins"]["spaces"].items():
            if f"{name}/{master}" in intf_count and not any(e["space"] == f"{name}/{space}" for e in g["addresses"]):
                problems.append(f"{name}/{space}: an address space with nothing mapped")
        for seg, slave in cell["pins"]["segments"].items():
            if f"{name}/{slave}" in intf_count and not any(e["segment"] == f"{name}/{seg}" for e in g["addresses"]):
                problems.append(f"{name}/{seg}: not in any address map")
    for name, cell in cells.items():
        ip = cell["vlnv"].rsplit(":", 1)[0]
        if ip == "xilinx.com:ip:axi_dma" and _on(cell["config"], "CONFIG.c_include_sg", "1"):
            problems.append(f"{name}: scatter-gather on (pynq's DMA driver drives simple mode)")
        family = {"xilinx.com:ip:processing_system7": "zynq7", "xilinx.com:ip:zynq_ultra_ps_e": "zynqmp"}.get(ip)
        if family:
            hp = next((w for m, k, w in cell["pins"]["intf"].values() if m == "slave"), None)
            if hp is not None and hp != PYNQ_HP_BITS[family]:
                problems.append(f"{name}: HP port {hp} bits, PYNQ configures {PYNQ_HP_BITS[family]}")
    if record is not None and g["project"] and g["project"]["part"] != record["part"]:
        problems.append(f"create_project: part {g['project']['part']}, the board's is {record['part']}")
    return problems


def validate(log: str) -> None:
    problems = check(build(Path(log)), _record())
    for p in problems:
        print(f"ERROR: [BD 41-1] {p}", file=sys.stderr)
    if problems:
        raise SystemExit(1)


def _record() -> dict | None:
    path = Path("board/board.json")
    return json.loads(path.read_text()) if path.is_file() else None


def implement(proj_dir: str, proj_name: str, log: str) -> None:
    g = build(Path(log))
    flow = [f[0] for f in g["flow"]]
    if "validate_bd_design" not in flow or flow.index("validate_bd_design") > flow.index("make_wrapper"):
        raise SystemExit("ERROR: [fake vivado] the wrapper was made before validate_bd_design")
    if ["launch_runs", "impl_1", "-to_step", "write_bitstream", "-jobs", "4"] not in g["flow"]:
        raise SystemExit("ERROR: [fake vivado] impl_1 was not run to write_bitstream")
    design = json.dumps({"cells": {n: {"vlnv": c["vlnv"], "config": c["config"]} for n, c in g["cells"].items()},
                         "intf_nets": g["intf_nets"], "nets": g["nets"], "addresses": g["addresses"]}, indent=1)
    run = Path(proj_dir) / f"{proj_name}.runs" / "impl_1"
    run.mkdir(parents=True, exist_ok=True)
    (run / "design_1_wrapper.bit").write_bytes(b"fake bitstream\n" + design.encode())
    hwh = Path(proj_dir) / f"{proj_name}.gen" / "sources_1" / "bd" / "design_1" / "hw_handoff"
    hwh.mkdir(parents=True, exist_ok=True)
    (hwh / "design_1.hwh").write_text(design)
    Path(log).with_name("fake_bd.json").write_text(json.dumps(g, indent=1))


def report(kind: str, path: str, log: str) -> None:
    zynqmp = any("zynq_ultra_ps_e" in c["vlnv"] for c in build(Path(log))["cells"].values())
    source = {"utilization": "zu3eg_utilization_routed.rpt" if zynqmp else "z7020_utilization_placed.rpt",
              "timing": "zu3eg_timing_summary_routed.rpt"}[kind]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DATA / source, path)


if __name__ == "__main__":
    step, *rest = sys.argv[1:]
    if step == "hls-synth":
        hls_synth(rest[0], rest[1:])
    elif step == "hls-export":
        hls_export(rest[0], rest[1], rest[2], rest[3:])
    elif step == "validate":
        validate(rest[0])
    elif step == "implement":
        implement(*rest)
    elif step == "report":
        report(*rest)
    else:
        raise SystemExit(f"fakeboard: unknown step {step}")
