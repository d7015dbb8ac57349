// libFuzzer target for the integer network loader and runner (docs/integer-network.md).
//
// Input: [u8 height][u8 width][EINT blob...]. If the height byte's top bit is set, the blob's
// CRC32C trailer is recomputed first, so mutations reach the rules behind the checksum.
// The blob goes to Network::parse; when it loads
// and the network is small enough to run quickly, it runs on a deterministic input of the
// given size (1..8 each), values spread beyond the input clamp. Any crash, sanitizer report
// or accumulator overflow (UBSan: signed overflow) is a bug: parse() promises that every
// network it accepts runs without overflow.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "edgesdk/crc32c.h"
#include "edgesdk/intnet.h"

namespace {

constexpr int64_t kMaxWork = 2'000'000;  // multiply-accumulates per run, to keep the fuzzer fast

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const int64_t height = 1 + data[0] % 8, width = 1 + data[1] % 8;
    std::vector<uint8_t> blob(data + 2, data + size);
    if ((data[0] & 0x80) && blob.size() >= 4) {
        const uint32_t crc = edgesdk::crc32c(blob.data(), blob.size() - 4);
        for (int b = 0; b < 4; ++b) blob[blob.size() - 4 + size_t(b)] = uint8_t(crc >> (8 * b));
    }
    edgesdk::intnet::Network net;
    std::string detail;
    if (edgesdk::intnet::Network::parse(blob.data(), blob.size(), &net, &detail) != edgesdk::Status::kOk) return 0;
    int64_t channels = 0, out_height = 0, out_width = 0;
    net.output_shape(height, width, &channels, &out_height, &out_width);
    // Cheap upper bound of the work: every op at the largest tensor size and channel count seen.
    const int64_t work = int64_t(net.input_channels()) * channels * 49 * out_height * out_width;
    if (work > kMaxWork) return 0;
    std::vector<int32_t> input(size_t(net.input_channels() * height * width));
    for (size_t i = 0; i < input.size(); ++i) input[i] = int32_t(i * 2654435761u) >> 20;
    std::vector<int32_t> out;
    if (net.run(input.data(), height, width, &out, &detail) != edgesdk::Status::kOk) __builtin_trap();
    if (int64_t(out.size()) != channels * out_height * out_width) __builtin_trap();
    return 0;
}
