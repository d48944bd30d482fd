"""The HLS project: hls4ml conversion and type checks (:mod:`.convert`), hlsgen's testbench
(:mod:`.testbench`), the project on disk (:mod:`.project`), the templates (package data) and the one
place that runs make and the HLS tools (:mod:`.runner`)."""
