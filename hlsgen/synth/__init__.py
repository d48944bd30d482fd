"""Before and after synthesis: the pre-synthesis estimate (:mod:`.estimate`, :mod:`.estimate_format`),
FPGA parts (:mod:`.parts`) and Vivado/Vitis HLS report parsing (:mod:`.report`)."""
