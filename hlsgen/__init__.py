"""hlsgen: a Keras CNN to an FPGA in 8-bit fixed point, verified bit for bit."""

__version__ = "0.1.0"
