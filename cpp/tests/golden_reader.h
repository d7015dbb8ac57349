// Reader for the .egv golden vector files (format: edgesdk/bitstream/golden.py).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace edgesdk_test {

struct GoldenArray {
    uint8_t dtype = 0;  // 1 uint8, 2 int32, 3 float64
    std::vector<uint8_t> u8;
    std::vector<int32_t> i32;
    std::vector<double> f64;
};

// Returns false (and leaves *out partial) if the file is missing or malformed.
bool read_golden(const std::string& path, std::map<std::string, GoldenArray>* out);

}  // namespace edgesdk_test
