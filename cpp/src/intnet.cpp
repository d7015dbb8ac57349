#include "edgesdk/intnet.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <system_error>
#include <thread>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define EDGESDK_INTNET_AVX2 1
#include <immintrin.h>
#else
#define EDGESDK_INTNET_AVX2 0
#endif

#include "edgesdk/crc32c.h"

namespace edgesdk {
namespace intnet {

namespace {

constexpr uint8_t kMagic[4] = {'E', 'I', 'N', 'T'};
constexpr uint8_t kVersion = 1;
constexpr int32_t kInt8Min = -128, kInt8Max = 127;

// Bounds-checked little-endian cursor over the blob.
struct Cursor {
    const uint8_t* p;
    const uint8_t* end;
    bool ok = true;

    bool need(size_t n) {
        if (!ok || size_t(end - p) < n) ok = false;
        return ok;
    }
    uint32_t u32() {
        if (!need(4)) return 0;
        const uint32_t v = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
        p += 4;
        return v;
    }
    int32_t i32() { return static_cast<int32_t>(u32()); }
    uint8_t u8() {
        if (!need(1)) return 0;
        return *p++;
    }
    bool zeros(size_t n) {
        if (!need(n)) return false;
        for (size_t i = 0; i < n; ++i)
            if (p[i] != 0) return false;
        p += n;
        return true;
    }
};

size_t padding_to_4(size_t n) { return (4 - n % 4) % 4; }

// floor(a / 2^s) for any sign, without relying on the implementation-defined >> of negatives.
inline int64_t floor_shift(int64_t a, uint32_t s) {
    return a >= 0 ? a >> s : -(((-(a + 1)) >> s) + 1);
}

}  // namespace

Status Network::parse(const uint8_t* data, size_t size, Network* out, std::string* detail) {
    if (!out || (size > 0 && !data)) return Status::kInvalidArgument;
    if (size < 8 || std::memcmp(data, kMagic, 4) != 0) {
        set_detail(detail, "integer network: not an EINT blob");
        const bool prefix_of_magic = size < 4 && (size == 0 || std::memcmp(data, kMagic, size) == 0);
        return prefix_of_magic ? Status::kTruncated : Status::kBadMagic;
    }
    if (data[4] != kVersion) {
        set_detail(detail, "integer network: EINT version " + std::to_string(data[4]) + " is not readable by this build");
        return Status::kUnsupportedVersion;
    }
    if (size < 12) {
        set_detail(detail, "integer network: blob truncated");
        return Status::kTruncated;
    }
    const uint32_t stored_crc = uint32_t(data[size - 4]) | uint32_t(data[size - 3]) << 8 |
                                uint32_t(data[size - 2]) << 16 | uint32_t(data[size - 1]) << 24;
    if (crc32c(data, size - 4) != stored_crc) {
        set_detail(detail, "integer network: CRC32C mismatch (blob damaged or truncated)");
        return Status::kChecksumMismatch;
    }
    Cursor c{data + 5, data + size - 4};
    auto fail = [&](std::string what) {
        set_detail(detail, "integer network: " + what);
        return c.ok ? Status::kCorrupted : Status::kTruncated;
    };
    if (!c.zeros(3)) return fail("reserved header bytes are not zero");
    Network net;
    net.input_channels_ = c.u32();
    net.input_min_ = c.i32();
    net.input_max_ = c.i32();
    const uint32_t op_count = c.u32();
    if (!c.ok) return fail("header truncated");
    if (net.input_channels_ < 1 || net.input_channels_ > kMaxChannels || op_count > kMaxOps)
        return fail("input channels or op count outside the limits");
    if (net.input_min_ > net.input_max_) return fail("input clamp is empty");
    uint32_t channels = net.input_channels_;
    int32_t lo = net.input_min_, hi = net.input_max_;  // range of the current tensor
    for (uint32_t index = 0; index < op_count; ++index) {
        const std::string where = "op " + std::to_string(index) + ": ";
        Op op;
        op.kind = static_cast<OpKind>(c.u8());
        if (!c.zeros(3)) return fail(where + "reserved bytes are not zero");
        if (op.kind == OpKind::kConv) {
            op.in_channels = c.u32();
            op.out_channels = c.u32();
            op.kernel = c.u8();
            const uint8_t relu = c.u8();
            if (!c.zeros(2)) return fail(where + "reserved bytes are not zero");
            op.out_min = c.i32();
            op.out_max = c.i32();
            if (!c.ok) return fail(where + "truncated");
            if (op.in_channels != channels) return fail(where + "expects " + std::to_string(op.in_channels) +
                                                        " input channels, gets " + std::to_string(channels));
            if (op.out_channels < 1 || op.out_channels > kMaxChannels) return fail(where + "output channels outside 1..4096");
            if (op.kernel % 2 == 0 || op.kernel > kMaxKernel) return fail(where + "kernel must be odd and at most 7");
            if (relu > 1) return fail(where + "relu flag must be 0 or 1");
            if (op.out_min > op.out_max) return fail(where + "output clamp is empty");
            if (lo < kInt8Min || hi > kInt8Max) return fail(where + "input range is not within int8");
            op.relu = relu == 1;
            const size_t weights = size_t(op.out_channels) * op.in_channels * op.kernel * op.kernel;
            if (!c.need(weights + padding_to_4(weights))) return fail(where + "weights truncated");
            op.weight.assign(reinterpret_cast<const int8_t*>(c.p), reinterpret_cast<const int8_t*>(c.p) + weights);
            c.p += weights;
            op.weight_channels_last.resize(weights);
            op.weight_channels_last8.resize(weights);
            op.weight_sums.assign(op.out_channels, 0);
            const size_t taps = size_t(op.kernel) * op.kernel;
            for (size_t o = 0; o < op.out_channels; ++o)
                for (size_t i = 0; i < op.in_channels; ++i)
                    for (size_t d = 0; d < taps; ++d) {
                        const int8_t w = op.weight[(o * op.in_channels + i) * taps + d];
                        op.weight_channels_last[(o * taps + d) * op.in_channels + i] = w;
                        op.weight_channels_last8[(o * taps + d) * op.in_channels + i] = w;
                        op.weight_sums[o] += w;
                    }
            if (!c.zeros(padding_to_4(weights))) return fail(where + "weight padding is not zero");
            if (!c.need(size_t(op.out_channels) * 9 + padding_to_4(op.out_channels))) return fail(where + "truncated");
            op.bias.resize(op.out_channels);
            op.multiplier.resize(op.out_channels);
            op.shift.resize(op.out_channels);
            for (auto& b : op.bias) b = c.i32();
            for (auto& m : op.multiplier) m = c.i32();
            for (auto& s : op.shift) s = c.u8();
            if (!c.zeros(padding_to_4(op.out_channels))) return fail(where + "shift padding is not zero");
            // Accumulation bound: |acc| <= K * 128 * 128 + max|bias| must fit int32.
            int64_t max_bias = 0;
            for (int32_t b : op.bias) max_bias = std::max<int64_t>(max_bias, b < 0 ? -int64_t(b) : b);
            const int64_t bound = int64_t(op.in_channels) * op.kernel * op.kernel * 128 * 128 + max_bias;
            if (bound > std::numeric_limits<int32_t>::max()) return fail(where + "int32 accumulator could overflow");
            for (uint32_t o = 0; o < op.out_channels; ++o) {
                if (op.multiplier[o] < 0) return fail(where + "negative requantization multiplier");
                if (op.shift[o] > kMaxShift) return fail(where + "shift above 62");
            }
            channels = op.out_channels;
            // ReLU then clamp: a clamp entirely below zero still wins over the ReLU.
            lo = op.relu ? std::min(std::max(op.out_min, 0), op.out_max) : op.out_min;
            hi = op.out_max;
        } else if (op.kind == OpKind::kDepthToSpace) {
            op.block = c.u32();
            if (!c.ok) return fail(where + "truncated");
            if (op.block < 2 || op.block > kMaxBlock) return fail(where + "block must be 2..4");
            if (channels % (op.block * op.block) != 0) return fail(where + "channels not divisible by block^2");
            channels /= op.block * op.block;
        } else {
            return fail(where + "unknown op kind " + std::to_string(int(op.kind)));
        }
        net.ops_.push_back(std::move(op));
    }
    if (c.p != c.end) return fail(std::to_string(c.end - c.p) + " unexpected bytes after the last op");
    *out = std::move(net);
    return Status::kOk;
}

void Network::output_shape(int64_t height, int64_t width, int64_t* channels, int64_t* out_height,
                           int64_t* out_width) const {
    int64_t c = input_channels_, h = height, w = width;
    for (const Op& op : ops_) {
        if (op.kind == OpKind::kConv) {
            c = op.out_channels;
        } else {
            c /= op.block * op.block;
            h *= op.block;
            w *= op.block;
        }
    }
    *channels = c;
    *out_height = h;
    *out_width = w;
}

namespace {

int32_t requantize(const Op& op, uint32_t o, int32_t acc) {
    const uint32_t shift = op.shift[o];
    const int64_t rounding = shift > 0 ? int64_t{1} << (shift - 1) : 0;
    int64_t v = floor_shift(int64_t(acc) * op.multiplier[o] + rounding, shift);
    if (op.relu) v = std::max<int64_t>(v, 0);
    return int32_t(std::min<int64_t>(std::max<int64_t>(v, op.out_min), op.out_max));
}

int32_t dot(const int16_t* a, const int16_t* b, int64_t n) {
    int32_t sum = 0;  // compilers turn this into 16-bit multiply-adds (pmaddwd, NEON smlal)
    for (int64_t i = 0; i < n; ++i) sum += int32_t(a[i]) * int32_t(b[i]);
    return sum;
}

// acc[o] = bias[o] + conv(in, weight[o]) on int16 operands laid out channels-last, so each
// output is k dot products of contiguous k·C runs. Conv inputs are int8 (checked at load), so
// int16 holds them; products fit int32, and the accumulator bound checked at load keeps every
// partial sum in int32, so the order of additions cannot change a result.
// Rows [row_begin, row_end) and output channels from first_channel on; rows are independent, so
// threads may share a call. x86-64 CPUs with AVX2 run convolve_rows_avx2, which leaves only the
// channels past the last multiple of 8 to this loop.
void convolve_rows(const Op& op, const int16_t* padded, const int16_t* weights, int64_t height, int64_t width,
                   int64_t row_begin, int64_t row_end, int32_t* out, int64_t first_channel) {
    const int64_t k = op.kernel, pad = k / 2, plane = height * width, channels = op.in_channels;
    const int64_t padded_width = width + 2 * pad, run = k * channels;
    constexpr int64_t kGroup = 4;  // output channels per pass: each activation load serves four
    const int64_t grouped = first_channel + (op.out_channels - first_channel) / kGroup * kGroup;
    for (int64_t y = row_begin; y < row_end; ++y) {
        for (int64_t x = 0; x < width; ++x) {
            const int16_t* patch = padded + (y * padded_width + x) * channels;
            for (int64_t o = first_channel; o < op.out_channels; o += (o + kGroup <= grouped ? kGroup : 1)) {
                const int64_t count = o + kGroup <= grouped ? kGroup : 1;
                int32_t acc[kGroup] = {0, 0, 0, 0};
                for (int64_t dy = 0; dy < k; ++dy) {
                    const int16_t* a = patch + dy * padded_width * channels;
                    const int16_t* w = weights + (o * k + dy) * run;
                    if (count == kGroup) {
                        const int64_t stride = k * run;  // one output channel's weights
                        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                        for (int64_t i = 0; i < run; ++i) {
                            const int32_t v = a[i];
                            s0 += v * w[i];
                            s1 += v * w[stride + i];
                            s2 += v * w[2 * stride + i];
                            s3 += v * w[3 * stride + i];
                        }
                        acc[0] += s0, acc[1] += s1, acc[2] += s2, acc[3] += s3;
                    } else {
                        acc[0] += dot(a, w, run);
                    }
                }
                for (int64_t j = 0; j < count; ++j)
                    out[(o + j) * plane + y * width + x] = requantize(op, uint32_t(o + j), acc[j] + op.bias[size_t(o + j)]);
            }
        }
    }
}

#if EDGESDK_INTNET_AVX2
// Eight vectors of int32 lanes to their eight sums: pairwise adds within 128-bit halves, then across.
__attribute__((target("avx2"))) inline void sum_each(const __m256i vectors[8], int32_t sums[8]) {
    const __m256i q0 = _mm256_hadd_epi32(_mm256_hadd_epi32(vectors[0], vectors[1]), _mm256_hadd_epi32(vectors[2], vectors[3]));
    const __m256i q1 = _mm256_hadd_epi32(_mm256_hadd_epi32(vectors[4], vectors[5]), _mm256_hadd_epi32(vectors[6], vectors[7]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums), _mm256_add_epi32(_mm256_permute2x128_si256(q0, q1, 0x20),
                                                                           _mm256_permute2x128_si256(q0, q1, 0x31)));
}

// Eight output channels per pass with vpmaddwd (16 int16 pairs into 8 int32 lanes; operands are
// int8-valued, so nothing saturates), accumulated across the kernel rows before one reduction.
// Integer sums in another order: the same results as the portable loop, which takes the
// channels past the last multiple of 8.
__attribute__((target("avx2"))) void convolve_rows_avx2(const Op& op, const int16_t* padded,
                                                        const int16_t* weights, int64_t height, int64_t width,
                                                        int64_t row_begin, int64_t row_end, int32_t* out) {
    const int64_t k = op.kernel, pad = k / 2, plane = height * width, channels = op.in_channels;
    const int64_t padded_width = width + 2 * pad, run = k * channels, stride = k * run;
    const int64_t vector_run = run / 16 * 16, grouped = op.out_channels / 8 * 8;
    // Channel groups outermost: a group's weights (8·k·k·C int16, 9 KB for C = 64, k = 3) stay
    // in L1 while every pixel of the rows passes; pixel-outer order streamed all weights from L2
    // for each pixel and ran at half the speed.
    for (int64_t o = 0; o < grouped; o += 8) {
        for (int64_t y = row_begin; y < row_end; ++y) {
            for (int64_t x = 0; x < width; ++x) {
                const int16_t* patch = padded + (y * padded_width + x) * channels;
                __m256i acc[8];
                for (__m256i& a : acc) a = _mm256_setzero_si256();
                int32_t tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                for (int64_t dy = 0; dy < k; ++dy) {
                    const int16_t* a = patch + dy * padded_width * channels;
                    const int16_t* w = weights + (o * k + dy) * run;
                    for (int64_t i = 0; i < vector_run; i += 16) {
                        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
                        for (int64_t j = 0; j < 8; ++j)
                            acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(v, _mm256_loadu_si256(
                                reinterpret_cast<const __m256i*>(w + j * stride + i))));
                    }
                    for (int64_t i = vector_run; i < run; ++i)
                        for (int64_t j = 0; j < 8; ++j) tail[j] += int32_t(a[i]) * w[j * stride + i];
                }
                int32_t sums[8];
                sum_each(acc, sums);
                for (int64_t j = 0; j < 8; ++j)
                    out[(o + j) * plane + y * width + x] =
                        requantize(op, uint32_t(o + j), sums[j] + tail[j] + op.bias[size_t(o + j)]);
            }
        }
    }
    if (grouped < op.out_channels)
        convolve_rows(op, padded, weights, height, width, row_begin, row_end, out, grouped);
}
#endif

#if EDGESDK_INTNET_AVX2
// Activations offset by 128 to unsigned bytes (conv inputs are int8, checked at load; padding is
// the offset zero, 128), so vpdpbusd multiplies 64 byte pairs and adds groups of four into 16
// int32 lanes per instruction; sum(x·w) = sum((x + 128)·w) − 128·sum(w). The lanes wrap modulo
// 2^32, which cannot change the result: the exact sum fits int32 (the bound checked at load).
// Each group of eight accumulators is folded to 256 bits and reduced like the AVX2 kernel's.
__attribute__((target("avx2,avx512f,avx512bw,avx512vnni"))) void convolve_rows_avx512_vnni(
    const Op& op, const uint8_t* padded, int64_t height, int64_t width, int64_t row_begin, int64_t row_end,
    int32_t* out) {
    const int64_t k = op.kernel, pad = k / 2, plane = height * width, channels = op.in_channels;
    const int64_t padded_width = width + 2 * pad, run = k * channels, stride = k * run;
    const int64_t vector_run = run / 64 * 64, grouped = op.out_channels / 8 * 8;
    const __mmask64 tail_mask = static_cast<__mmask64>((uint64_t{1} << (run - vector_run)) - 1);
    const int8_t* weights = op.weight_channels_last8.data();
    auto finish = [&](int64_t o, uint32_t sum, int64_t y, int64_t x) {
        const uint32_t exact = sum - 128u * uint32_t(op.weight_sums[size_t(o)]) + uint32_t(op.bias[size_t(o)]);
        out[o * plane + y * width + x] = requantize(op, uint32_t(o), int32_t(exact));
    };
    for (int64_t o = 0; o < grouped; o += 8) {
        for (int64_t y = row_begin; y < row_end; ++y) {
            for (int64_t x = 0; x < width; ++x) {
                const uint8_t* patch = padded + (y * padded_width + x) * channels;
                __m512i acc[8];
                for (__m512i& a : acc) a = _mm512_setzero_si512();
                for (int64_t dy = 0; dy < k; ++dy) {
                    const uint8_t* a = patch + dy * padded_width * channels;
                    const int8_t* w = weights + (o * k + dy) * run;
                    for (int64_t i = 0; i < vector_run; i += 64) {
                        const __m512i v = _mm512_loadu_si512(a + i);
                        for (int64_t j = 0; j < 8; ++j)
                            acc[j] = _mm512_dpbusd_epi32(acc[j], v, _mm512_loadu_si512(w + j * stride + i));
                    }
                    if (tail_mask) {
                        const __m512i v = _mm512_maskz_loadu_epi8(tail_mask, a + vector_run);
                        for (int64_t j = 0; j < 8; ++j)
                            acc[j] = _mm512_dpbusd_epi32(
                                acc[j], v, _mm512_maskz_loadu_epi8(tail_mask, w + j * stride + vector_run));
                    }
                }
                // Masked extracts: GCC 12 warns on the undefined vector inside the unmasked forms.
                __m256i half[8];
                for (int64_t j = 0; j < 8; ++j)
                    half[j] = _mm256_add_epi32(_mm512_maskz_extracti64x4_epi64(0xFF, acc[j], 0),
                                               _mm512_maskz_extracti64x4_epi64(0xFF, acc[j], 1));
                int32_t sums[8];
                sum_each(half, sums);
                for (int64_t j = 0; j < 8; ++j) finish(o + j, uint32_t(sums[j]), y, x);
            }
        }
    }
    for (int64_t o = grouped; o < op.out_channels; ++o)  // the channels past the last multiple of 8
        for (int64_t y = row_begin; y < row_end; ++y)
            for (int64_t x = 0; x < width; ++x) {
                uint32_t sum = 0;
                for (int64_t dy = 0; dy < k; ++dy) {
                    const uint8_t* a = padded + ((y + dy) * padded_width + x) * channels;
                    const int8_t* w = weights + (o * k + dy) * run;
                    for (int64_t i = 0; i < run; ++i) sum += uint32_t(int32_t(a[i]) * w[i]);
                }
                finish(o, sum, y, x);
            }
}
#endif

void convolve_rows_portable(const Op& op, const int16_t* padded, const int16_t* weights, int64_t height,
                            int64_t width, int64_t row_begin, int64_t row_end, int32_t* out) {
    convolve_rows(op, padded, weights, height, width, row_begin, row_end, out, 0);
}

using ConvolveRows = void (*)(const Op&, const int16_t*, const int16_t*, int64_t, int64_t, int64_t, int64_t, int32_t*);
using ConvolveRowsU8 = void (*)(const Op&, const uint8_t*, int64_t, int64_t, int64_t, int64_t, int32_t*);

// A kernel reads int16 activations or activations offset to unsigned bytes: one of the two is set.
struct KernelRows {
    ConvolveRows int16 = nullptr;
    ConvolveRowsU8 offset_u8 = nullptr;
};

bool cpu_has(Kernel kernel) {
#if EDGESDK_INTNET_AVX2
    if (kernel == Kernel::kAvx2) return __builtin_cpu_supports("avx2");
    if (kernel == Kernel::kAvx512Vnni)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
#endif
    return kernel == Kernel::kPortable;
}

// The kernel's rows; kAuto: the fastest this CPU has (asked once).
KernelRows kernel_rows(Kernel kernel) {
#if EDGESDK_INTNET_AVX2
    if (kernel == Kernel::kAuto) {
        static const Kernel fastest = cpu_has(Kernel::kAvx512Vnni) ? Kernel::kAvx512Vnni
                                      : cpu_has(Kernel::kAvx2)     ? Kernel::kAvx2
                                                                   : Kernel::kPortable;
        kernel = fastest;
    }
    if (kernel == Kernel::kAvx512Vnni) return {nullptr, convolve_rows_avx512_vnni};
    if (kernel == Kernel::kAvx2) return {convolve_rows_avx2, nullptr};
#endif
    return {convolve_rows_portable, nullptr};
}

// Threads for a convolution of this many multiply-accumulates: one per 2^20 (about 0.1 ms of
// work, several times what starting a thread costs), at most the hardware's, at most a row each.
int64_t convolution_threads(int64_t macs, int64_t rows) {
    constexpr int64_t kMacsPerThread = int64_t{1} << 20;
    const int64_t hardware = std::max<int64_t>(1, std::thread::hardware_concurrency());
    return std::max<int64_t>(1, std::min({hardware, rows, macs / kMacsPerThread}));
}

// [C, H, W] → [H + 2p, W + 2p, C] with zero padding, each value as `T` after adding `offset`.
template <typename T>
std::vector<T> pad_channels_last(const std::vector<int32_t>& in, int64_t channels, int64_t height, int64_t width,
                                 int64_t pad, int32_t offset) {
    const int64_t plane = height * width, padded_width = width + 2 * pad;
    std::vector<T> padded(size_t((height + 2 * pad) * padded_width * channels), T(offset));
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t y = 0; y < height; ++y)
            for (int64_t x = 0; x < width; ++x)
                padded[size_t(((y + pad) * padded_width + x + pad) * channels + c)] =
                    T(in[size_t(c * plane + y * width + x)] + offset);
    return padded;
}

// rows(begin, end) over [0, height) split across threads by the work's size.
template <typename Rows>
void split_rows(int64_t macs, int64_t height, const Rows& rows) {
    const int64_t threads = convolution_threads(macs, height);
    const int64_t rows_per_thread = (height + threads - 1) / threads;
    std::vector<std::thread> workers;
    workers.reserve(size_t(threads - 1));
    for (int64_t t = 1; t < threads; ++t) {
        const int64_t begin = t * rows_per_thread, end = std::min(height, begin + rows_per_thread);
        if (begin >= end) continue;
        try {
            workers.emplace_back([&rows, begin, end] { rows(begin, end); });
        } catch (const std::system_error&) {  // no thread to be had: same rows, this thread
            rows(begin, end);
        }
    }
    rows(0, std::min(height, rows_per_thread));
    for (std::thread& worker : workers) worker.join();
}

void convolve(const Op& op, const std::vector<int32_t>& in, int64_t height, int64_t width, KernelRows kernel,
              std::vector<int32_t>* out) {
    const int64_t k = op.kernel, pad = k / 2, channels = op.in_channels;
    const int64_t macs = height * width * op.out_channels * k * k * channels;
    out->assign(size_t(op.out_channels * height * width), 0);
    int32_t* result = out->data();
    if (kernel.offset_u8) {
        const std::vector<uint8_t> padded = pad_channels_last<uint8_t>(in, channels, height, width, pad, 128);
        split_rows(macs, height, [&](int64_t begin, int64_t end) {
            kernel.offset_u8(op, padded.data(), height, width, begin, end, result);
        });
        return;
    }
    const std::vector<int16_t> padded = pad_channels_last<int16_t>(in, channels, height, width, pad, 0);
    split_rows(macs, height, [&](int64_t begin, int64_t end) {
        kernel.int16(op, padded.data(), op.weight_channels_last.data(), height, width, begin, end, result);
    });
}

void depth_to_space(uint32_t block, const std::vector<int32_t>& in, int64_t channels, int64_t height,
                    int64_t width, std::vector<int32_t>* out) {
    const int64_t b = block, out_channels = channels / (b * b), out_width = width * b;
    out->resize(in.size());
    for (int64_t c = 0; c < out_channels; ++c)
        for (int64_t i = 0; i < b; ++i)
            for (int64_t j = 0; j < b; ++j) {
                const int32_t* src = in.data() + ((c * b + i) * b + j) * height * width;
                for (int64_t y = 0; y < height; ++y)
                    for (int64_t x = 0; x < width; ++x)
                        (*out)[size_t((c * height * b + y * b + i) * out_width + x * b + j)] = src[y * width + x];
            }
}

}  // namespace

bool kernel_available(Kernel kernel) { return kernel == Kernel::kAuto || cpu_has(kernel); }

Status Network::run(const int32_t* input, int64_t height, int64_t width, std::vector<int32_t>* out,
                    std::string* detail, Kernel kernel) const {
    if (!out || height < 1 || width < 1 || !input) {
        set_detail(detail, "integer network: input must be a non-empty [C, H, W] tensor");
        return Status::kInvalidArgument;
    }
    if (!kernel_available(kernel)) {
        set_detail(detail, "integer network: this CPU or build lacks the requested kernel");
        return Status::kInvalidArgument;
    }
    const KernelRows rows = kernel_rows(kernel);
    // Every intermediate tensor is bounded before anything is allocated.
    int64_t c = input_channels_, h = height, w = width;
    auto too_big = [](int64_t c, int64_t h, int64_t w) {
        return h > kMaxTensorElements || w > kMaxTensorElements || c * h > kMaxTensorElements ||
               c * h * w > kMaxTensorElements;
    };
    if (too_big(c, h, w)) {
        set_detail(detail, "integer network: input tensor too large");
        return Status::kLimitExceeded;
    }
    for (const Op& op : ops_) {
        c = op.kind == OpKind::kConv ? int64_t(op.out_channels) : c / (op.block * op.block);
        if (op.kind == OpKind::kDepthToSpace) {
            h *= op.block;
            w *= op.block;
        }
        if (too_big(c, h, w)) {
            set_detail(detail, "integer network: an intermediate tensor would exceed 2^28 elements");
            return Status::kLimitExceeded;
        }
    }
    std::vector<int32_t> current(input, input + input_channels_ * height * width);
    for (int32_t& v : current) v = std::min(std::max(v, input_min_), input_max_);
    std::vector<int32_t> next;
    c = input_channels_;
    h = height;
    w = width;
    for (const Op& op : ops_) {
        if (op.kind == OpKind::kConv) {
            convolve(op, current, h, w, rows, &next);
            c = op.out_channels;
        } else {
            depth_to_space(op.block, current, c, h, w, &next);
            c /= op.block * op.block;
            h *= op.block;
            w *= op.block;
        }
        current.swap(next);
    }
    *out = std::move(current);
    return Status::kOk;
}

}  // namespace intnet
}  // namespace edgesdk
