#include "golden_reader.h"

#include <cstring>
#include <fstream>
#include <iterator>

namespace edgesdk_test {
namespace {

uint64_t read_le(const uint8_t* p, int bytes) {
    uint64_t v = 0;
    for (int b = 0; b < bytes; ++b) v |= uint64_t(p[b]) << (8 * b);
    return v;
}

}  // namespace

bool read_golden(const std::string& path, std::map<std::string, GoldenArray>* out) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return false;
    const std::vector<uint8_t> data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (data.size() < 8 || std::memcmp(data.data(), "EGV1", 4) != 0) return false;
    const uint64_t count = read_le(data.data() + 4, 4);
    size_t pos = 8;
    for (uint64_t a = 0; a < count; ++a) {
        if (data.size() - pos < 2) return false;
        const size_t name_length = size_t(read_le(data.data() + pos, 2));
        pos += 2;
        if (data.size() - pos < name_length + 9) return false;
        const std::string name(reinterpret_cast<const char*>(data.data() + pos), name_length);
        pos += name_length;
        GoldenArray array;
        array.dtype = data[pos];
        const uint64_t n = read_le(data.data() + pos + 1, 8);
        pos += 9;
        const size_t item = array.dtype == 1 ? 1 : array.dtype == 2 ? 4 : array.dtype == 3 ? 8 : 0;
        if (item == 0 || n > (data.size() - pos) / item) return false;
        const uint8_t* p = data.data() + pos;
        for (uint64_t i = 0; i < n; ++i, p += item) {
            if (array.dtype == 1) array.u8.push_back(*p);
            if (array.dtype == 2) array.i32.push_back(static_cast<int32_t>(uint32_t(read_le(p, 4))));
            if (array.dtype == 3) {
                const uint64_t bits = read_le(p, 8);
                double d;
                std::memcpy(&d, &bits, sizeof d);
                array.f64.push_back(d);
            }
        }
        pos += size_t(n) * item;
        (*out)[name] = std::move(array);
    }
    return pos == data.size();
}

}  // namespace edgesdk_test
