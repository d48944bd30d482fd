
# --- board: $board (hls.board) ---------------------------------------------------------------------------------
#   make csim TOP=axi           the AXI4-Stream top ${top}_axi (firmware/${top}_axi.cpp) in C simulation (g++): every
#                               test image packed into beats as the DMA moves them, its output beats unpacked and
#                               checked like `make csim` (tb_data/csim_output.txt, then hlsgen compare)
#   make board-sim              build/stream_sim: the AXI top as the DMA sees it (beats on stdin and stdout), to run
#                               board/driver.py on a host behind a stand-in for pynq (tests/board/fake_pynq)
#   make ip                     Vitis HLS 2022.2+: C synthesis of ${top}_axi and its IP catalog export (board/hls_ip.tcl)
#   make bitstream              Vivado 2022.2+: the block design, synthesis, implementation, board/${top}.bit and
#                               board/${top}.hwh, then the summary of Vivado's reports (board/reports/); runs `make ip`
#                               first when the IP is missing; exits 3 without Vivado
# On the board: copy this directory (or board/ and tb_data/), then `python3 board/driver.py [-n N]`; see docs/board.md.
.PHONY: board-sim ip bitstream

board-sim:
	@command -v $$(firstword $$(CXX)) >/dev/null 2>&1 || { echo "make board-sim: error: $$(firstword $$(CXX)) not found on PATH; install g++ (or set CXX)" >&2; exit 3; }
	mkdir -p build && $$(CSIM_CXX) board/stream_sim.cpp firmware/$$(NAME).cpp firmware/$$(NAME)_axi.cpp -o build/stream_sim

ip:
	@NAME=$$(NAME) bash board/board.sh ip

bitstream:
	@NAME=$$(NAME) HLSGEN='$$(HLSGEN)' bash board/board.sh bitstream
