// Integer networks (format EINT 1, docs/integer-network.md): the bit-exact path that
// computes CDF table indexes and means from decoded integers, identical on every platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "edgesdk/status.h"

namespace edgesdk {
namespace intnet {

constexpr uint32_t kMaxChannels = 4096;
constexpr uint32_t kMaxOps = 64;
constexpr uint32_t kMaxKernel = 7;
constexpr uint32_t kMaxBlock = 4;
constexpr uint32_t kMaxShift = 62;
constexpr int64_t kMaxTensorElements = int64_t{1} << 28;  // 1 GiB of int32 per tensor

enum class OpKind : uint8_t { kConv = 1, kDepthToSpace = 2 };

// Convolution kernels. Every kernel gives the same integers (integer sums in another order);
// kAuto picks the fastest this CPU has. The others exist so tests can check each one.
enum class Kernel : uint8_t { kAuto = 0, kPortable = 1, kAvx2 = 2, kAvx512Vnni = 3 };

// Whether this build and CPU can run `kernel` (kAuto and kPortable: always).
bool kernel_available(Kernel kernel);

struct Op {
    OpKind kind = OpKind::kConv;
    // kConv
    uint32_t in_channels = 0, out_channels = 0, kernel = 1;
    bool relu = false;
    int32_t out_min = 0, out_max = 0;
    std::vector<int8_t> weight;       // [out][in][k][k]
    std::vector<int16_t> weight_channels_last;  // [out][k][k][in]: the layout convolve reads (made at parse)
    std::vector<int8_t> weight_channels_last8;  // the same as int8, for the VNNI kernel (made at parse)
    std::vector<int32_t> weight_sums;           // [out] sum of each output's weights (the VNNI kernel's offset)
    std::vector<int32_t> bias;        // [out]
    std::vector<int32_t> multiplier;  // [out]
    std::vector<uint8_t> shift;       // [out]
    // kDepthToSpace
    uint32_t block = 0;
};

class Network {
public:
    // Parses and validates a blob; every rule of the spec is checked here, not while running.
    static Status parse(const uint8_t* data, size_t size, Network* out, std::string* detail);

    uint32_t input_channels() const { return input_channels_; }
    // Output shape for an input of height x width.
    void output_shape(int64_t height, int64_t width, int64_t* channels, int64_t* out_height,
                      int64_t* out_width) const;

    // Runs one image [C, H, W] (C = input_channels()); *out receives [C', H', W'].
    // kernel: kAuto unless a test compares kernels; kInvalidArgument if it is not available.
    Status run(const int32_t* input, int64_t height, int64_t width, std::vector<int32_t>* out,
               std::string* detail, Kernel kernel = Kernel::kAuto) const;

private:
    uint32_t input_channels_ = 0;
    int32_t input_min_ = 0, input_max_ = 0;
    std::vector<Op> ops_;
};

}  // namespace intnet
}  // namespace edgesdk
