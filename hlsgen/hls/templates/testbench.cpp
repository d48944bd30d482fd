// hlsgen self-checking testbench for $top (generated; do not edit: `hlsgen build` rewrites it).
//
// Reads input codes (tb_data/inputs.txt) and the golden model's expected output codes
// (tb_data/expected.txt), one image per line; runs the top function on each image; writes the raw
// output codes to tb_data/csim_output.txt; compares bit for bit. The exit status is the number of
// mismatching images (capped at 255), so Vitis HLS csim_design and cosim_design fail on a mismatch.
//
// Images: all, or the first N with `./csim N` or HLSGEN_CSIM_N=N in the environment.
// Tracing: HLSGEN_TRACE=K writes every layer's output codes for the first K images to
// tb_data/csim_trace.txt ("image layer codes...").
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "firmware/$top.h"
#include "firmware/nnet_utils/nnet_helpers.h"

namespace nnet {
bool trace_enabled = false;
std::map<std::string, void *> *trace_outputs = NULL;
size_t trace_type_size = sizeof(double);
} // namespace nnet

static const int N_IN = $n_in;
static const int N_OUT = $n_out;

struct TracedLayer {
    const char *name;
    int size;
    int frac;  // fractional bits of the layer's result type: code = value * 2^frac
};
static const TracedLayer TRACED[] = {
$trace_table
};
static const int N_TRACED = $n_traced;

// The integer code of a fixed-point value: its bits, sign-extended for signed types.
template <class T> long long code_of(const T &v) {
    unsigned long long bits = v.range().to_uint64();
    if (v < 0) return (long long)bits - (1LL << T::width);
    return (long long)bits;
}

static bool read_line(FILE *f, std::vector<long long> &codes, int n) {
    for (int i = 0; i < n; i++) {
        if (fscanf(f, "%lld", &codes[i]) != 1) return false;
    }
    return true;
}

#ifdef RTL_SIM
static const char *OUTPUT_FILE = "tb_data/cosim_output.txt";
#else
static const char *OUTPUT_FILE = "tb_data/csim_output.txt";
#endif

int main(int argc, char **argv) {
    long limit = -1;
    if (argc > 1) limit = atol(argv[1]);
    else if (getenv("HLSGEN_CSIM_N")) limit = atol(getenv("HLSGEN_CSIM_N"));
    if (limit == 0) limit = -1;
    long trace_images = getenv("HLSGEN_TRACE") ? atol(getenv("HLSGEN_TRACE")) : 0;

    FILE *fin = fopen("tb_data/inputs.txt", "r");
    FILE *fexp = fopen("tb_data/expected.txt", "r");
    FILE *fout = fopen(OUTPUT_FILE, "w");
    if (!fin || !fexp || !fout) {
        fprintf(stderr, "csim: error: cannot open tb_data/inputs.txt, tb_data/expected.txt or %s\n", OUTPUT_FILE);
        return 255;
    }
    FILE *ftrace = trace_images > 0 ? fopen("tb_data/csim_trace.txt", "w") : NULL;
    std::map<std::string, void *> buffers;
    std::vector<std::vector<double> > storage(N_TRACED);
    if (ftrace) {
        for (int l = 0; l < N_TRACED; l++) {
            storage[l].assign(TRACED[l].size, NAN);  // NAN: the layer never saved its output
            buffers[TRACED[l].name] = storage[l].data();
        }
        nnet::trace_outputs = &buffers;
    }

    std::vector<long long> in_codes(N_IN), exp_codes(N_OUT), out_codes(N_OUT);
    long images = 0, bad_images = 0, shown = 0;
    while ((limit < 0 || images < limit) && read_line(fin, in_codes, N_IN)) {
        if (!read_line(fexp, exp_codes, N_OUT)) {
            fprintf(stderr, "csim: error: tb_data/expected.txt has fewer lines than inputs.txt\n");
            return 255;
        }
        nnet::trace_enabled = ftrace && images < trace_images;
        $declare
        $feed
        $call
        $drain
        bool bad = false;
        for (int j = 0; j < N_OUT; j++) {
            fprintf(fout, j ? " %lld" : "%lld", out_codes[j]);
            if (out_codes[j] != exp_codes[j]) {
                bad = true;
                if (shown < 10) {
                    printf("csim: mismatch: image %ld output %d expected %lld got %lld\n", images, j, exp_codes[j],
                           out_codes[j]);
                    shown++;
                }
            }
        }
        fprintf(fout, "\n");
        if (nnet::trace_enabled) {
            for (int l = 0; l < N_TRACED; l++) {
                if (std::isnan(storage[l][0])) continue;
                fprintf(ftrace, "%ld %s", images, TRACED[l].name);
                for (int k = 0; k < TRACED[l].size; k++)
                    fprintf(ftrace, " %lld", (long long)llround(ldexp(storage[l][k], TRACED[l].frac)));
                fprintf(ftrace, "\n");
            }
        }
        bad_images += bad;
        images++;
    }
    fclose(fin);
    fclose(fexp);
    fclose(fout);
    if (ftrace) fclose(ftrace);
    if (images == 0) {
        fprintf(stderr, "csim: error: no images in tb_data/inputs.txt\n");
        return 255;
    }
    printf("csim: %ld/%ld images bit-exact\n", images - bad_images, images);
    return bad_images > 255 ? 255 : (int)bad_images;
}
