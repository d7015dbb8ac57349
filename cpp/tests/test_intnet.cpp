#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "edgesdk/crc32c.h"
#include "edgesdk/intnet.h"

using edgesdk::Status;
using namespace edgesdk::intnet;

namespace {

struct Writer {
    std::vector<uint8_t> bytes;
    void u8(uint8_t v) { bytes.push_back(v); }
    void u32(uint32_t v) {
        for (int b = 0; b < 4; ++b) bytes.push_back(uint8_t(v >> (8 * b)));
    }
    void pad() {
        while (bytes.size() % 4) bytes.push_back(0);
    }
};

std::vector<uint8_t> blob(uint32_t in_channels, int32_t in_min, int32_t in_max, const std::vector<Op>& ops) {
    Writer w;
    w.bytes = {'E', 'I', 'N', 'T', 1, 0, 0, 0};
    w.u32(in_channels);
    w.u32(uint32_t(in_min));
    w.u32(uint32_t(in_max));
    w.u32(uint32_t(ops.size()));
    for (const Op& op : ops) {
        w.u8(uint8_t(op.kind));
        w.u8(0), w.u8(0), w.u8(0);
        if (op.kind == OpKind::kDepthToSpace) {
            w.u32(op.block);
            continue;
        }
        w.u32(op.in_channels);
        w.u32(op.out_channels);
        w.u8(uint8_t(op.kernel));
        w.u8(op.relu ? 1 : 0);
        w.u8(0), w.u8(0);
        w.u32(uint32_t(op.out_min));
        w.u32(uint32_t(op.out_max));
        for (int8_t v : op.weight) w.u8(uint8_t(v));
        w.pad();
        for (int32_t v : op.bias) w.u32(uint32_t(v));
        for (int32_t v : op.multiplier) w.u32(uint32_t(v));
        for (uint8_t v : op.shift) w.u8(v);
        w.pad();
    }
    w.u32(edgesdk::crc32c(w.bytes.data(), w.bytes.size()));
    return w.bytes;
}

Op random_conv(edgesdk_test::Random& rng, uint32_t in, uint32_t out, bool last) {
    Op op;
    op.kind = OpKind::kConv;
    op.in_channels = in;
    op.out_channels = out;
    op.kernel = 1 + 2 * uint32_t(rng.below(4));
    op.relu = !last && rng.below(2);
    op.out_min = last ? -100000 : -128;
    op.out_max = last ? 100000 : 127;
    for (size_t i = 0; i < size_t(out) * in * op.kernel * op.kernel; ++i) op.weight.push_back(int8_t(rng.next()));
    for (uint32_t o = 0; o < out; ++o) {
        op.bias.push_back(int32_t(rng.below(200001)) - 100000);
        op.multiplier.push_back(int32_t(rng.below(1u << 30)));
        op.shift.push_back(uint8_t(20 + rng.below(20)));
    }
    return op;
}

// Straightforward reference: one output element at a time, int64 throughout.
std::vector<int32_t> reference(const std::vector<Op>& ops, int32_t in_min, int32_t in_max, std::vector<int32_t> x,
                               int64_t c, int64_t h, int64_t w) {
    for (int32_t& v : x) v = std::min(std::max(v, in_min), in_max);
    for (const Op& op : ops) {
        std::vector<int32_t> y;
        if (op.kind == OpKind::kConv) {
            const int64_t k = op.kernel, pad = k / 2;
            y.resize(size_t(op.out_channels * h * w));
            for (int64_t o = 0; o < op.out_channels; ++o)
                for (int64_t r = 0; r < h; ++r)
                    for (int64_t q = 0; q < w; ++q) {
                        int64_t acc = op.bias[size_t(o)];
                        for (int64_t i = 0; i < c; ++i)
                            for (int64_t dy = 0; dy < k; ++dy)
                                for (int64_t dx = 0; dx < k; ++dx) {
                                    const int64_t rr = r + dy - pad, qq = q + dx - pad;
                                    if (rr < 0 || rr >= h || qq < 0 || qq >= w) continue;
                                    acc += int64_t(op.weight[size_t(((o * c + i) * k + dy) * k + dx)]) *
                                           x[size_t((i * h + rr) * w + qq)];
                                }
                        const int s = op.shift[size_t(o)];
                        const int64_t scaled = acc * op.multiplier[size_t(o)] + (s ? int64_t{1} << (s - 1) : 0);
                        // floor division by 2^s
                        int64_t v = scaled / (int64_t{1} << s);
                        if (scaled % (int64_t{1} << s) != 0 && scaled < 0) --v;
                        if (op.relu && v < 0) v = 0;
                        y[size_t((o * h + r) * w + q)] = int32_t(std::min<int64_t>(std::max<int64_t>(v, op.out_min), op.out_max));
                    }
            c = op.out_channels;
        } else {
            const int64_t b = op.block, oc = c / (b * b);
            y.resize(x.size());
            for (int64_t ch = 0; ch < c; ++ch)
                for (int64_t r = 0; r < h; ++r)
                    for (int64_t q = 0; q < w; ++q) {
                        const int64_t o = ch / (b * b), i = (ch % (b * b)) / b, j = ch % b;
                        y[size_t((o * h * b + r * b + i) * w * b + q * b + j)] = x[size_t((ch * h + r) * w + q)];
                    }
            c = oc;
            h *= b;
            w *= b;
        }
        x.swap(y);
    }
    return x;
}

}  // namespace

TEST_CASE(intnet_matches_reference_on_random_networks) {
    edgesdk_test::Random rng(21);
    for (int trial = 0; trial < 25; ++trial) {
        const uint32_t in_channels = 1 + uint32_t(rng.below(4));
        std::vector<Op> ops;
        uint32_t channels = in_channels;
        const int depth = 1 + int(rng.below(3));
        for (int d = 0; d < depth; ++d) {
            const bool last = d == depth - 1;
            const uint32_t out = (1 + uint32_t(rng.below(3))) * 4;
            ops.push_back(random_conv(rng, channels, out, last));
            channels = out;
            if (!last && rng.below(2)) {
                Op up;
                up.kind = OpKind::kDepthToSpace;
                up.block = 2;
                ops.push_back(up);
                channels /= 4;
            }
        }
        const std::vector<uint8_t> bytes = blob(in_channels, -128, 127, ops);
        Network net;
        std::string detail;
        CHECK_STATUS(Network::parse(bytes.data(), bytes.size(), &net, &detail), Status::kOk);
        const int64_t h = 1 + int64_t(rng.below(7)), w = 1 + int64_t(rng.below(7));
        std::vector<int32_t> x(size_t(in_channels * h * w));
        for (int32_t& v : x) v = int32_t(rng.below(601)) - 300;  // some beyond the input clamp
        std::vector<int32_t> out;
        CHECK_STATUS(net.run(x.data(), h, w, &out, &detail), Status::kOk);
        CHECK(out == reference(ops, -128, 127, x, in_channels, h, w));
    }
}

// Large enough to split rows across threads (when the machine has more than one core), with
// channel counts that leave remainders for the eight-channel vector paths (20 = 16 + 4) and
// runs that are not multiples of their 16- and 32-element steps (k·C = 3·13 = 39, 3·16 = 48).
// Every kernel this CPU has runs; the others must refuse.
TEST_CASE(intnet_threaded_and_vector_paths_match_reference) {
    edgesdk_test::Random rng(5);
    const uint32_t shapes[][3] = {{16, 24, 3}, {13, 20, 3}, {32, 8, 5}};
    for (const auto& shape : shapes) {
        std::vector<Op> ops{random_conv(rng, shape[0], shape[1], true)};
        ops[0].kernel = shape[2];
        ops[0].weight.resize(size_t(shape[1]) * shape[0] * shape[2] * shape[2]);
        for (int8_t& v : ops[0].weight) v = int8_t(rng.next());
        const std::vector<uint8_t> bytes = blob(shape[0], -128, 127, ops);
        Network net;
        std::string detail;
        CHECK_STATUS(Network::parse(bytes.data(), bytes.size(), &net, &detail), Status::kOk);
        const int64_t h = 41, w = 37;
        std::vector<int32_t> x(size_t(shape[0] * h * w));
        for (int32_t& v : x) v = int32_t(rng.below(257)) - 128;
        const std::vector<int32_t> expected = reference(ops, -128, 127, x, shape[0], h, w);
        for (Kernel kernel : {Kernel::kAuto, Kernel::kPortable, Kernel::kAvx2, Kernel::kAvx512Vnni}) {
            std::vector<int32_t> out;
            if (!kernel_available(kernel)) {
                CHECK_STATUS(net.run(x.data(), h, w, &out, &detail, kernel), Status::kInvalidArgument);
                continue;
            }
            CHECK_STATUS(net.run(x.data(), h, w, &out, &detail, kernel), Status::kOk);
            CHECK(out == expected);
        }
    }
}

TEST_CASE(intnet_rejects_invalid_blobs) {
    edgesdk_test::Random rng(22);
    std::vector<Op> ops = {random_conv(rng, 2, 8, false)};
    Op up;
    up.kind = OpKind::kDepthToSpace;
    up.block = 2;
    ops.push_back(up);
    ops.push_back(random_conv(rng, 2, 3, true));
    const std::vector<uint8_t> good = blob(2, -128, 127, ops);
    Network net;
    CHECK_STATUS(Network::parse(good.data(), good.size(), &net, nullptr), Status::kOk);
    for (size_t cut = 0; cut < good.size(); ++cut) CHECK(Network::parse(good.data(), cut, &net, nullptr) != Status::kOk);
    std::vector<uint8_t> damaged = good;
    damaged[30] ^= 1;
    CHECK_STATUS(Network::parse(damaged.data(), damaged.size(), &net, nullptr), Status::kChecksumMismatch);

    std::string detail;
    auto status_of = [&](uint32_t in_channels, int32_t lo, int32_t hi, const std::vector<Op>& o) {
        const std::vector<uint8_t> b = blob(in_channels, lo, hi, o);
        return Network::parse(b.data(), b.size(), &net, &detail);
    };
    CHECK_STATUS(status_of(3, -128, 127, ops), Status::kCorrupted);    // channel mismatch
    CHECK_STATUS(status_of(2, -129, 127, ops), Status::kCorrupted);    // conv input beyond int8
    std::vector<Op> wide = ops;
    wide[0].out_max = 128;                                              // next conv's input beyond int8
    CHECK_STATUS(status_of(2, -128, 127, wide), Status::kCorrupted);
    std::vector<Op> even = ops;
    even[0].kernel = 2;
    even[0].weight.resize(8 * 2 * 4);
    CHECK_STATUS(status_of(2, -128, 127, even), Status::kCorrupted);
    std::vector<Op> odd_block = ops;
    odd_block[1].block = 3;                                              // 8 channels not divisible by 9
    CHECK_STATUS(status_of(2, -128, 127, odd_block), Status::kCorrupted);
    std::vector<Op> shift = ops;
    shift[2].shift[0] = 63;
    CHECK_STATUS(status_of(2, -128, 127, shift), Status::kCorrupted);
    std::vector<Op> bias = ops;
    bias[2].bias[0] = 2147483647;                                       // accumulator could overflow
    CHECK_STATUS(status_of(2, -128, 127, bias), Status::kCorrupted);
    CHECK(detail.find("op 2") != std::string::npos);
}

TEST_CASE(intnet_bounds_tensor_sizes) {
    edgesdk_test::Random rng(23);
    const std::vector<uint8_t> bytes = blob(1, -128, 127, {random_conv(rng, 1, 4, true)});
    Network net;
    CHECK_STATUS(Network::parse(bytes.data(), bytes.size(), &net, nullptr), Status::kOk);
    std::vector<int32_t> out;
    int32_t one = 0;
    CHECK_STATUS(net.run(&one, int64_t{1} << 20, int64_t{1} << 20, &out, nullptr), Status::kLimitExceeded);
    CHECK_STATUS(net.run(&one, 0, 1, &out, nullptr), Status::kInvalidArgument);
}

// Golden vector of the requantisation (docs/integer-network.md): v = ⌊(acc·m + 2^(s-1)) / 2^s⌋,
// i.e. halves round up (towards +∞) for either sign. The random networks above almost never
// produce an exact tie, so a rounding change (half down, half away from zero, truncation
// towards zero) passed ctest; here most outputs are ties. The expected integers were computed
// once from the formula with exact rationals (Python fractions), not by this code.
TEST_CASE(intnet_golden_requantisation_ties) {
    struct Channel {
        int8_t weight;
        int32_t bias, multiplier;
        uint8_t shift;
        bool relu;
    };
    const Channel channels[] = {
        {1, 0, 1, 1, false},                   // x/2: every odd x is a tie
        {1, 0, 1 << 20, 21, false},            // the same with a wide shift
        {-1, 0, 1, 1, false},                  // ties of negated inputs
        {3, 1, 3, 2, false},                   // 3(3x+1)/4
        {2, 0, 1, 2, true},                    // ReLU after a rounded -0.5
        {5, -2, 1, 0, false},                  // shift 0: no rounding term
        {-1, -7, 1 << 29, 30, false},         // negative weight and bias, shift 30
    };
    const std::vector<int32_t> input = {-12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1,
                                        2,   3,   4,   5,  6,  7,  8,  9,  10, 11, -128, 127, -200, 300};
    const std::vector<std::vector<int32_t>> expected = {
        {-6, -5, -5, -4, -4, -3, -3, -2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, -64, 64, -64, 64},
        {-6, -5, -5, -4, -4, -3, -3, -2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, -64, 64, -64, 64},
        {6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0, -1, -1, -2, -2, -3, -3, -4, -4, -5, -5, 64, -63, 64, -63},
        {-26, -24, -22, -19, -17, -15, -13, -10, -8, -6, -4, -1, 1, 3, 5, 8, 10, 12, 14, 17, 19, 21, 23, 26,
         -287, 287, -287, 287},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 0, 64, 0, 64},
        {-62, -57, -52, -47, -42, -37, -32, -27, -22, -17, -12, -7, -2, 3, 8, 13, 18, 23, 28, 33, 38, 43, 48, 53,
         -642, 633, -642, 633},
        {3, 2, 2, 1, 1, 0, 0, -1, -1, -2, -2, -3, -3, -4, -4, -5, -5, -6, -6, -7, -7, -8, -8, -9, 61, -67, 61, -67},
    };
    Op op;
    op.kind = OpKind::kConv;
    op.in_channels = 1;
    op.out_channels = uint32_t(std::size(channels));
    op.kernel = 1;
    op.relu = false;
    op.out_min = -100000;
    op.out_max = 100000;
    for (const Channel& c : channels) {
        op.weight.push_back(c.weight);
        op.bias.push_back(c.bias);
        op.multiplier.push_back(c.multiplier);
        op.shift.push_back(c.shift);
    }
    // ReLU is per op: the ReLU channel runs as a network of its own.
    for (size_t o = 0; o < std::size(channels); ++o) {
        Op single = op;
        single.out_channels = 1;
        single.weight = {op.weight[o]};
        single.bias = {op.bias[o]};
        single.multiplier = {op.multiplier[o]};
        single.shift = {op.shift[o]};
        single.relu = channels[o].relu;
        const std::vector<uint8_t> bytes = blob(1, -128, 127, {single});
        Network net;
        std::string detail;
        CHECK_STATUS(Network::parse(bytes.data(), bytes.size(), &net, &detail), Status::kOk);
        std::vector<int32_t> out;
        CHECK_STATUS(net.run(input.data(), 1, int64_t(input.size()), &out, &detail), Status::kOk);
        if (out != expected[o]) {
            edgesdk_test::record_failure(__FILE__, __LINE__, "requantisation tie vector, channel " + std::to_string(o));
        }
        // And as a column (height 28, width 1): the same integers.
        CHECK_STATUS(net.run(input.data(), int64_t(input.size()), 1, &out, &detail), Status::kOk);
        CHECK(out == expected[o]);
    }
}

TEST_CASE(intnet_rejects_negative_multipliers) {
    edgesdk_test::Random rng(24);
    std::vector<Op> ops = {random_conv(rng, 1, 4, true)};
    const std::vector<uint8_t> good = blob(1, -128, 127, ops);
    Network net;
    CHECK_STATUS(Network::parse(good.data(), good.size(), &net, nullptr), Status::kOk);
    for (int32_t multiplier : {-1, -5, std::numeric_limits<int32_t>::min()}) {
        ops[0].multiplier[3] = multiplier;
        const std::vector<uint8_t> bad = blob(1, -128, 127, ops);
        std::string detail;
        CHECK_STATUS(Network::parse(bad.data(), bad.size(), &net, &detail), Status::kCorrupted);
        CHECK(detail.find("negative requantization multiplier") != std::string::npos);
    }
}
