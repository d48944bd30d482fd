"""From a built HLS project to a board: the boards hlsgen knows (:mod:`.boards`), the AXI4-Stream top and
its byte layout (:mod:`.axi`), the Vitis HLS IP export and the Vivado block design and bitstream flow
(:mod:`.tcl`), the pynq driver and the project files that tie them together (:mod:`.emit`)."""
