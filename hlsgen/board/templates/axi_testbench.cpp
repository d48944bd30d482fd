// hlsgen: the AXI top's per-image testbench code (hlsgen/board/axi.py testbench_parts); each part follows
// its //@name line and is pasted into hlsgen/hls/templates/testbench.cpp's $declare, $feed, $drain.
//@declare
hls::stream<hlsgen_axi_beat_t> in_axis("in_axis"), out_axis("out_axis");
        std::vector<unsigned char> axi_bytes(HLSGEN_AXI_BEAT_BYTES * (HLSGEN_AXI_IN_BEATS > HLSGEN_AXI_OUT_BEATS ? HLSGEN_AXI_IN_BEATS : HLSGEN_AXI_OUT_BEATS), 0);
        bool axi_ok = true;
//@feed
for (int i = 0; i < N_IN; i++)
        for (int b = 0; b < HLSGEN_AXI_IN_CODE_BYTES; b++)
            axi_bytes[i * HLSGEN_AXI_IN_CODE_BYTES + b] = (unsigned char)((unsigned long long)in_codes[i] >> (8 * b));
    for (int t = 0; t < HLSGEN_AXI_IN_BEATS; t++) {
        hlsgen_axi_beat_t beat;
        for (int b = 0; b < HLSGEN_AXI_BEAT_BYTES; b++) beat.data.range(8 * b + 7, 8 * b) = axi_bytes[t * HLSGEN_AXI_BEAT_BYTES + b];
        beat.keep = -1;
        beat.strb = -1;
        beat.last = t == HLSGEN_AXI_IN_BEATS - 1;
        in_axis.write(beat);
    }
    for (size_t b = 0; b < axi_bytes.size(); b++) axi_bytes[b] = 0;
//@drain
for (int t = 0; t < HLSGEN_AXI_OUT_BEATS; t++) {
        if (out_axis.empty()) {
            printf("%s: mismatch: image %ld: the AXI top wrote %d of %d output beats\n", KIND, images, t, HLSGEN_AXI_OUT_BEATS);
            axi_ok = false;
            break;
        }
        hlsgen_axi_beat_t beat = out_axis.read();
        if ((int)beat.last != (t == HLSGEN_AXI_OUT_BEATS - 1)) {
            printf("%s: mismatch: image %ld: TLAST=%d on output beat %d of %d\n", KIND, images, (int)beat.last, t + 1, HLSGEN_AXI_OUT_BEATS);
            axi_ok = false;
        }
        for (int b = 0; b < HLSGEN_AXI_BEAT_BYTES; b++) axi_bytes[t * HLSGEN_AXI_BEAT_BYTES + b] = beat.data.range(8 * b + 7, 8 * b).to_uint();
    }
    if (!out_axis.empty() || !in_axis.empty()) {
        printf("%s: mismatch: image %ld: the AXI top %s\n", KIND, images, !out_axis.empty() ? "wrote more output beats than an image has" : "left input beats unread");
        axi_ok = false;
    }
    for (int j = 0; j < N_OUT; j++) {
        unsigned long long u = 0;
        for (int b = 0; b < HLSGEN_AXI_OUT_CODE_BYTES; b++) u |= (unsigned long long)axi_bytes[j * HLSGEN_AXI_OUT_CODE_BYTES + b] << (8 * b);
        long long v = (long long)u;
        if (HLSGEN_AXI_OUT_SIGNED && (u >> (8 * HLSGEN_AXI_OUT_CODE_BYTES - 1)) & 1) v -= 1LL << (8 * HLSGEN_AXI_OUT_CODE_BYTES);
        out_codes[j] = v;
    }
    if (!axi_ok) out_codes[0] ^= 1;
