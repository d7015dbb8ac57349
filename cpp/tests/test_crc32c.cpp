#include <cstring>
#include <vector>

#include "check.h"
#include "edgesdk/crc32c.h"
#include "edgesdk/status.h"

using edgesdk::crc32c;

TEST_CASE(crc32c_known_values) {
    const char* digits = "123456789";
    CHECK(crc32c(reinterpret_cast<const uint8_t*>(digits), 9) == 0xE3069283u);
    CHECK(crc32c(nullptr, 0) == 0u);
    std::vector<uint8_t> zeros(32, 0);
    CHECK(crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);  // RFC 3720, B.4
    std::vector<uint8_t> ones(32, 0xFF);
    CHECK(crc32c(ones.data(), ones.size()) == 0x62A8AB43u);
}

TEST_CASE(crc32c_incremental_equals_whole) {
    edgesdk_test::Random rng(7);
    std::vector<uint8_t> data(1000);
    for (auto& b : data) b = uint8_t(rng.next());
    const uint32_t whole = crc32c(data.data(), data.size());
    for (size_t split : {size_t(0), size_t(1), size_t(7), size_t(8), size_t(9), size_t(500), size_t(999)}) {
        const uint32_t first = crc32c(data.data(), split);
        CHECK(crc32c(data.data() + split, data.size() - split, first) == whole);
    }
}
