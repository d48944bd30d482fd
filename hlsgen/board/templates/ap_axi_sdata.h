// hlsgen: a stand-in for Vitis HLS' ap_axi_sdata.h, for the g++ C simulation only (generated; do not edit).
// hls4ml's bundled ap_types have no ap_axi_sdata.h; Vitis HLS compiles the AXI top with its own header
// (this folder is never given to Vitis). The fields are those of Vitis' hls::axis with no side channels
// (TUSER, TID, TDEST of width 0): data, keep, strb, last.
#ifndef HLSGEN_AP_AXI_SDATA_H
#define HLSGEN_AP_AXI_SDATA_H

#include <cstddef>

#include "ap_int.h"

namespace hls {
template <typename T, std::size_t WUser = 0, std::size_t WId = 0, std::size_t WDest = 0> struct axis {
    static_assert(WUser == 0 && WId == 0 && WDest == 0, "hlsgen's stand-in has no TUSER, TID or TDEST");
    T data;
    ap_uint<(T::width + 7) / 8> keep;
    ap_uint<(T::width + 7) / 8> strb;
    ap_uint<1> last;
};
} // namespace hls

#endif
