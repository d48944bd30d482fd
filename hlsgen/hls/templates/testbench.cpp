// hlsgen self-checking testbench for $top (generated; do not edit: `hlsgen build` rewrites it).
//
// Reads input codes (tb_data/inputs.txt) and the golden model's expected output codes
// (tb_data/expected.txt), one image per line; runs the top function on each image; writes the raw
// output codes to tb_data/csim_output.txt; compares bit for bit.
//
// Evidence is checked before it is trusted: each file must hold exactly N_IMAGES lines (the test images
// of this build, also in tb_data/manifest.json), each exactly N_IN (N_OUT) integer codes separated by
// spaces or tabs and nothing else, every input code inside the input type and every expected code
// inside the output type. The first violation is reported as "csim: error: FILE: line K: ..." and
// nothing is counted as verified.
//
// csim_output.txt starts with "# hlsgen csim run=RUN build=BUILD images=K of=N_IMAGES" and ends with
// "# end images=K mismatches=M", written only after the last image: `hlsgen compare` accepts no output
// of another build, of another run (HLSGEN_RUN_ID) or of a run that stopped early.
// C/RTL co-simulation: compiled with -DRTL_SIM (hls4ml's build_prj.tcl adds it for cosim_design) or
// run with the argument --rtl (hls_config.cfg's cosim.argv: a config file has no cosim-only cflags),
// the testbench writes tb_data/cosim_output.txt, headed "# hlsgen cosim ...", and prints "cosim: ...".
//
// Exit status: 0      every requested image bit-exact;
//              1..254 the number of mismatching images (254: 254 or more);
//              255    bad evidence (a tb_data file missing, short, long or malformed, a code outside
//                     its type, a bad image count N): nothing was verified.
//
// Images: all, or the first N: HLSGEN_CSIM_N=N in the environment (the Makefile's way, for g++, the Tcl
// flow and the config-file flow alike), else the first argument that is not --rtl (`./csim N`, csim.argv,
// cosim.argv: what the Vitis IDE passes); 0 or nothing: all.
// Tracing: HLSGEN_TRACE=K writes every layer's output codes for the first K images to
// tb_data/csim_trace.txt ("image layer codes...").
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
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
static const long N_IMAGES = $n_images;  // test images in tb_data (tb_data/manifest.json)
static const char *BUILD_ID = "$build";
static const long long IN_MIN = $in_min, IN_MAX = $in_max;
static const char *IN_TYPE = "$in_type";
static const long long OUT_MIN = $out_min, OUT_MAX = $out_max;
static const char *OUT_TYPE = "$out_type";
static const int BAD_EVIDENCE = 255;
static const long MAX_MISMATCH_STATUS = 254;

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

static const char *KIND = "csim";  // "cosim" in a C/RTL co-simulation (see main)

static bool bad_evidence(const char *file, long line, const std::string &what) {
    fprintf(stderr, "%s: error: %s: line %ld: %s\n", KIND, file, line, what.c_str());
    return false;
}

// At most 20 bytes of a token, printable ASCII, others as \xHH (as `hlsgen compare` shows them).
static std::string excerpt(const std::string &s) {
    std::string out;
    for (size_t i = 0; i < s.size() && i < 20; i++) {
        unsigned char c = (unsigned char)s[i];
        char hex[8];
        snprintf(hex, sizeof hex, "\\x%02x", c);
        out += (c >= 32 && c < 127) ? std::string(1, (char)c) : std::string(hex);
    }
    return s.size() > 20 ? out + "..." : out;
}

// One code file, read line by line: exactly n integer codes in [lo, t_hi] per line (spaces or tabs
// between them, nothing else); line numbers count from 1.
struct CodeFile {
    const char *name;
    std::ifstream in;
    long line;
    CodeFile(const char *path) : name(path), in(path), line(0) {}

    bool read(std::vector<long long> &codes, int n, long long lo, long long hi, const char *type) {
        std::string text;
        line++;
        if (!std::getline(in, text))
            return bad_evidence(name, line, "missing: the file has " + std::to_string(line - 1) +
                                                " lines, the project has " + std::to_string(N_IMAGES) + " test images");
        size_t pos = 0;
        int count = 0;
        while (true) {
            while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) pos++;
            if (pos == text.size()) break;
            size_t end = pos;
            while (end < text.size() && text[end] != ' ' && text[end] != '\t') end++;
            std::string token = text.substr(pos, end - pos);
            pos = end;
            size_t digits = (token[0] == '+' || token[0] == '-') ? 1 : 0;
            bool ok = digits < token.size() && token.find_first_not_of("0123456789", digits) == std::string::npos;
            errno = 0;
            long long v = ok ? strtoll(token.c_str(), NULL, 10) : 0;
            if (!ok || errno == ERANGE) return bad_evidence(name, line, "'" + excerpt(token) + "' is not an integer code");
            if (v < lo || v > hi)
                return bad_evidence(name, line, "code " + std::to_string(v) + " outside " + type + " [" +
                                                    std::to_string(lo) + ", " + std::to_string(hi) + "]");
            if (count < n) codes[count] = v;
            count++;
        }
        if (count != n)
            return bad_evidence(name, line, std::to_string(count) + " codes, expected " + std::to_string(n));
        return true;
    }

    // After the last image read: the rest of the file holds exactly the project's remaining images
    // (not parsed: an N run reads only N of them), then ends.
    bool check_length() {
        std::string text;
        while (line < N_IMAGES) {
            if (!std::getline(in, text))
                return bad_evidence(name, line + 1, "missing: the file has " + std::to_string(line) +
                                                        " lines, the project has " + std::to_string(N_IMAGES) + " test images");
            line++;
        }
        if (std::getline(in, text))
            return bad_evidence(name, line + 1, "extra line: the project has " + std::to_string(N_IMAGES) + " test images");
        return true;
    }
};

// The number of images to run: 0 or nothing means all; else 1..N_IMAGES, digits only.
static long requested_images(const char *arg) {
    if (!arg || !*arg) return N_IMAGES;
    std::string s(arg);
    if (s.find_first_not_of("0123456789") != std::string::npos || s.size() > 9) return -1;
    long n = atol(arg);
    if (n == 0) return N_IMAGES;
    return n <= N_IMAGES ? n : -1;
}

#ifdef RTL_SIM
static bool rtl_sim = true;
#else
static bool rtl_sim = false;
#endif

int main(int argc, char **argv) {
    const char *arg = NULL;
    for (int a = 1; a < argc; a++) {
        if (std::string(argv[a]) == "--rtl") rtl_sim = true;
        else if (!arg) arg = argv[a];
    }
    if (getenv("HLSGEN_CSIM_N") && *getenv("HLSGEN_CSIM_N")) arg = getenv("HLSGEN_CSIM_N");
    KIND = rtl_sim ? "cosim" : "csim";
    const char *OUTPUT_FILE = rtl_sim ? "tb_data/cosim_output.txt" : "tb_data/csim_output.txt";
    long limit = requested_images(arg);
    if (limit < 0) {
        fprintf(stderr, "%s: error: N=%s: expected a number of images from 1 to %ld (0 or nothing: all)\n", KIND,
                arg, N_IMAGES);
        return BAD_EVIDENCE;
    }
    long trace_images = getenv("HLSGEN_TRACE") ? atol(getenv("HLSGEN_TRACE")) : 0;
    const char *run_id = getenv("HLSGEN_RUN_ID") && *getenv("HLSGEN_RUN_ID") ? getenv("HLSGEN_RUN_ID") : "-";

    remove(OUTPUT_FILE);  // a run that fails below leaves no output of an earlier run behind
    CodeFile fin("tb_data/inputs.txt"), fexp("tb_data/expected.txt");
    if (!fin.in || !fexp.in) {
        fprintf(stderr, "%s: error: cannot open %s\n", KIND, !fin.in ? fin.name : fexp.name);
        return BAD_EVIDENCE;
    }
    FILE *fout = fopen(OUTPUT_FILE, "w");
    if (!fout) {
        fprintf(stderr, "%s: error: cannot write %s\n", KIND, OUTPUT_FILE);
        return BAD_EVIDENCE;
    }
    fprintf(fout, "# hlsgen %s run=%s build=%s images=%ld of=%ld\n", KIND, run_id, BUILD_ID, limit, N_IMAGES);
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
    bool evidence = true;
    for (; images < limit; images++) {
        if (!fin.read(in_codes, N_IN, IN_MIN, IN_MAX, IN_TYPE) || !fexp.read(exp_codes, N_OUT, OUT_MIN, OUT_MAX, OUT_TYPE)) {
            evidence = false;
            break;
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
                    printf("%s: mismatch: image %ld output %d expected %lld got %lld\n", KIND, images, j, exp_codes[j],
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
    }
    if (evidence) evidence = fin.check_length() && fexp.check_length();
    if (ftrace) fclose(ftrace);
    if (!evidence) {
        fclose(fout);  // no end marker: compare refuses this output
        fprintf(stderr, "%s: error: bad test data in tb_data/: nothing verified (rebuild the project)\n", KIND);
        return BAD_EVIDENCE;
    }
    fprintf(fout, "# end images=%ld mismatches=%ld\n", images, bad_images);
    if (fclose(fout) != 0) {
        fprintf(stderr, "%s: error: cannot write %s\n", KIND, OUTPUT_FILE);
        return BAD_EVIDENCE;
    }
    printf("%s: %ld/%ld images bit-exact\n", KIND, images - bad_images, images);
    return bad_images > MAX_MISMATCH_STATUS ? (int)MAX_MISMATCH_STATUS : (int)bad_images;
}
