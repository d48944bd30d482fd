TOP ?=
$$(if $$(filter-out axi,$$(value TOP)),$$(error make: TOP: only TOP=axi (the AXI4-Stream top $$(NAME)_axi) or nothing is known))
ifeq ($$(TOP),axi)
  VITIS :=
  CSIM_TB := $$(NAME)_axi_test.cpp
  CSIM_SRCS := $$(NAME)_axi_test.cpp firmware/$$(NAME).cpp firmware/$$(NAME)_axi.cpp
  CSIM_BIN := build/csim_axi
else
  CSIM_TB := $$(NAME)_test.cpp
  CSIM_SRCS := $$(NAME)_test.cpp firmware/$$(NAME).cpp
  CSIM_BIN := build/csim
endif
