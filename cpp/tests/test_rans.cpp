#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "edgesdk/cdf.h"
#include "edgesdk/rans.h"

using edgesdk::Status;
using namespace edgesdk;

namespace {

struct TableSet {
    std::vector<int32_t> cdfs;  // padded rows
    std::vector<int32_t> lengths;
    std::vector<int32_t> offsets;
    int64_t stride = 0;
    rans::CdfTables tables;
};

TableSet random_tables(edgesdk_test::Random& rng, int count) {
    TableSet set;
    std::vector<std::vector<int32_t>> rows;
    for (int t = 0; t < count; ++t) {
        const int64_t n = 1 + int64_t(rng.below(300));
        std::vector<double> pmf(static_cast<size_t>(n));
        for (double& p : pmf) p = double(rng.below(1000)) * (rng.below(4) == 0 ? 0.0 : 1.0);
        std::vector<int32_t> cdf;
        CHECK_STATUS(cdf::quantize_pmf(pmf.data(), n, 0.5, &cdf, nullptr), Status::kOk);
        rows.push_back(cdf);
        set.offsets.push_back(int32_t(rng.below(2001)) - 1000);
        set.stride = std::max<int64_t>(set.stride, int64_t(cdf.size()));
    }
    for (const auto& row : rows) {
        set.lengths.push_back(int32_t(row.size()));
        std::vector<int32_t> padded = row;
        padded.resize(size_t(set.stride), 0);
        set.cdfs.insert(set.cdfs.end(), padded.begin(), padded.end());
    }
    CHECK_STATUS(rans::CdfTables::create(set.cdfs.data(), count, set.stride, set.lengths.data(), set.offsets.data(),
                                         &set.tables, nullptr),
                 Status::kOk);
    return set;
}

void check_round_trip(const rans::CdfTables& tables, const std::vector<int32_t>& values,
                      const std::vector<int32_t>& indexes) {
    std::vector<uint8_t> stream;
    CHECK_STATUS(rans::encode(tables, values.data(), indexes.data(), int64_t(values.size()), &stream, nullptr),
                 Status::kOk);
    std::vector<int32_t> decoded(values.size(), 12345);
    CHECK_STATUS(rans::decode(tables, stream.data(), stream.size(), indexes.data(), int64_t(indexes.size()),
                              decoded.data(), nullptr),
                 Status::kOk);
    CHECK(decoded == values);
}

}  // namespace

TEST_CASE(rans_round_trip_random_tables_and_escapes) {
    edgesdk_test::Random rng(1);
    for (int trial = 0; trial < 20; ++trial) {
        TableSet set = random_tables(rng, 1 + int(rng.below(16)));
        const size_t n = size_t(rng.below(3000));
        std::vector<int32_t> values(n), indexes(n);
        for (size_t i = 0; i < n; ++i) {
            indexes[i] = int32_t(rng.below(uint64_t(set.lengths.size())));
            const int32_t offset = set.offsets[size_t(indexes[i])];
            switch (rng.below(8)) {
                case 0: values[i] = int32_t(uint32_t(rng.next())); break;  // anywhere in int32
                case 1: values[i] = rng.below(2) ? std::numeric_limits<int32_t>::max()
                                                 : std::numeric_limits<int32_t>::min(); break;
                default: values[i] = offset + int32_t(rng.below(uint64_t(set.lengths[size_t(indexes[i])])));
            }
        }
        check_round_trip(set.tables, values, indexes);
    }
}

TEST_CASE(rans_every_small_length_uses_fewer_lanes) {
    edgesdk_test::Random rng(2);
    TableSet set = random_tables(rng, 3);
    for (size_t n = 0; n <= 9; ++n) {
        std::vector<int32_t> values(n), indexes(n);
        for (size_t i = 0; i < n; ++i) {
            indexes[i] = int32_t(i % 3);
            values[i] = set.offsets[i % 3] + int32_t(i);
        }
        check_round_trip(set.tables, values, indexes);
        std::vector<uint8_t> stream;
        CHECK_STATUS(rans::encode(set.tables, values.data(), indexes.data(), int64_t(n), &stream, nullptr),
                     Status::kOk);
        CHECK(stream.size() >= 4 * std::min<size_t>(n, rans::kLanes));
    }
}

TEST_CASE(rans_truncated_and_extended_streams_fail_cleanly) {
    edgesdk_test::Random rng(3);
    TableSet set = random_tables(rng, 4);
    const size_t n = 400;
    std::vector<int32_t> values(n), indexes(n);
    for (size_t i = 0; i < n; ++i) {
        indexes[i] = int32_t(rng.below(4));
        values[i] = int32_t(rng.below(50)) - 25 + set.offsets[size_t(indexes[i])];
    }
    std::vector<uint8_t> stream;
    CHECK_STATUS(rans::encode(set.tables, values.data(), indexes.data(), int64_t(n), &stream, nullptr), Status::kOk);
    std::vector<int32_t> out(n);
    for (size_t cut = 0; cut < stream.size(); ++cut) {
        const Status st = rans::decode(set.tables, stream.data(), cut, indexes.data(), int64_t(n), out.data(), nullptr);
        CHECK(st == Status::kTruncated || st == Status::kCorrupted);
    }
    std::vector<uint8_t> longer = stream;
    longer.push_back(0);
    longer.push_back(0);
    std::string detail;
    CHECK_STATUS(rans::decode(set.tables, longer.data(), longer.size(), indexes.data(), int64_t(n), out.data(), &detail),
                 Status::kCorrupted);
    CHECK(!detail.empty());
}

TEST_CASE(rans_random_bytes_never_crash) {
    edgesdk_test::Random rng(4);
    TableSet set = random_tables(rng, 4);
    std::vector<int32_t> indexes(257), out(257);
    for (size_t i = 0; i < indexes.size(); ++i) indexes[i] = int32_t(i % 4);
    int failures = 0;
    for (int trial = 0; trial < 2000; ++trial) {
        std::vector<uint8_t> junk(rng.below(600));
        for (auto& b : junk) b = uint8_t(rng.next());
        const Status st = rans::decode(set.tables, junk.data(), junk.size(), indexes.data(), 257, out.data(), nullptr);
        failures += st != Status::kOk;
        CHECK(st == Status::kOk || st == Status::kTruncated || st == Status::kCorrupted);
    }
    CHECK(failures > 1900);  // random junk essentially never passes the final-state check
}

TEST_CASE(rans_rejects_invalid_tables_and_indexes) {
    const int32_t offsets[1] = {0};
    auto create = [&](std::vector<int32_t> cdf) {
        rans::CdfTables tables;
        const int32_t length = int32_t(cdf.size());
        return rans::CdfTables::create(cdf.data(), 1, length, &length, offsets, &tables, nullptr);
    };
    CHECK_STATUS(create({0, 65536}), Status::kOk);  // escape only
    CHECK_STATUS(create({0, 100, 65536}), Status::kOk);
    CHECK_STATUS(create({1, 100, 65536}), Status::kInvalidTable);
    CHECK_STATUS(create({0, 100, 65535}), Status::kInvalidTable);
    CHECK_STATUS(create({0, 100, 100, 65536}), Status::kInvalidTable);
    CHECK_STATUS(create({0, 65536, 65536}), Status::kInvalidTable);  // zero-frequency escape
    CHECK_STATUS(create({65536}), Status::kInvalidTable);

    const int32_t cdf[3] = {0, 30000, 65536};
    const int32_t length = 3;
    rans::CdfTables tables;
    CHECK_STATUS(rans::CdfTables::create(cdf, 1, 3, &length, offsets, &tables, nullptr), Status::kOk);
    const int32_t values[2] = {0, 0};
    const int32_t bad_indexes[2] = {0, 1};
    std::vector<uint8_t> stream;
    CHECK_STATUS(rans::encode(tables, values, bad_indexes, 2, &stream, nullptr), Status::kInvalidArgument);
    const int32_t good_indexes[2] = {0, 0};
    CHECK_STATUS(rans::encode(tables, values, good_indexes, 2, &stream, nullptr), Status::kOk);
    int32_t out[2];
    const int32_t negative_indexes[2] = {0, -1};
    CHECK_STATUS(rans::decode(tables, stream.data(), stream.size(), negative_indexes, 2, out, nullptr),
                 Status::kInvalidArgument);
}

TEST_CASE(rans_size_close_to_information_content) {
    // 100k symbols from a known pmf: stream within 0.5% (plus state bytes) of -sum log2(freq/2^16).
    std::vector<double> pmf = {0.5, 0.25, 0.125, 0.0625, 0.03125, 0.03125};
    std::vector<int32_t> cdf;
    CHECK_STATUS(cdf::quantize_pmf(pmf.data(), int64_t(pmf.size()), 0.0, &cdf, nullptr), Status::kOk);
    const int32_t length = int32_t(cdf.size()), offset = 0;
    rans::CdfTables tables;
    CHECK_STATUS(rans::CdfTables::create(cdf.data(), 1, length, &length, &offset, &tables, nullptr), Status::kOk);
    edgesdk_test::Random rng(5);
    const size_t n = 100000;
    std::vector<int32_t> values(n), indexes(n, 0);
    double bits = 0;
    for (size_t i = 0; i < n; ++i) {
        int32_t s = 0;
        uint64_t r = rng.below(65536);
        while (uint64_t(cdf[size_t(s) + 1]) <= r) ++s;
        values[i] = s;
        bits += 16.0 - std::log2(double(cdf[size_t(s) + 1] - cdf[size_t(s)]));
    }
    std::vector<uint8_t> stream;
    CHECK_STATUS(rans::encode(tables, values.data(), indexes.data(), int64_t(n), &stream, nullptr), Status::kOk);
    CHECK(double(stream.size()) <= bits / 8 * 1.005 + 4 * rans::kLanes);
}

// Hand-made streams the encoder never writes (docs/testing.md: these killed the surviving
// decode mutants). A one-element stream (one lane) is crafted with the format's own rules:
// symbol `s` of a table, then the escape's bypass chunks in the decoder's read order (chunk
// count minus one, then chunks low to high), coded from `initial_state`.
namespace {

constexpr uint32_t kCraftStateLow = 1u << 23;

void craft_put(uint32_t& x, uint32_t start, uint32_t freq, int scale_bits, std::vector<uint8_t>& bytes) {
    const uint64_t x_max = (uint64_t{kCraftStateLow >> scale_bits} << 8) * freq;
    while (x >= x_max) {
        bytes.push_back(uint8_t(x));
        x >>= 8;
    }
    x = ((x / freq) << scale_bits) + (x % freq) + start;
}

std::vector<uint8_t> craft(const std::vector<int32_t>& cdf, uint32_t s, const std::vector<uint32_t>& bypass,
                           uint32_t initial_state = kCraftStateLow) {
    uint32_t x = initial_state;
    std::vector<uint8_t> bytes;
    for (size_t k = bypass.size(); k-- > 0;) craft_put(x, bypass[k], 1, rans::kBypassBits, bytes);
    craft_put(x, uint32_t(cdf[s]), uint32_t(cdf[s + 1] - cdf[s]), rans::kPrecision, bytes);
    std::vector<uint8_t> out;
    for (int b = 0; b < 4; ++b) out.push_back(uint8_t(x >> (8 * b)));
    out.insert(out.end(), bytes.rbegin(), bytes.rend());
    return out;
}

Status decode_one(const std::vector<int32_t>& cdf, int32_t offset, const std::vector<uint8_t>& stream, int32_t* value) {
    rans::CdfTables tables;
    const int32_t length = int32_t(cdf.size());
    CHECK_STATUS(rans::CdfTables::create(cdf.data(), 1, length, &length, &offset, &tables, nullptr), Status::kOk);
    const int32_t index = 0;
    return rans::decode(tables, stream.data(), stream.size(), &index, 1, value, nullptr);
}

}  // namespace

TEST_CASE(rans_crafted_streams_decode_exactly_or_are_refused) {
    const std::vector<int32_t> cdf = {0, 16384, 32768, 49152, 65536};  // symbols 0..2, escape 3
    int32_t value = 0;
    // The crafting is right: plain symbols and a one-chunk escape decode to their values.
    CHECK_STATUS(decode_one(cdf, 10, craft(cdf, 1, {}), &value), Status::kOk);
    CHECK(value == 11);
    CHECK_STATUS(decode_one(cdf, 10, craft(cdf, 3, {0, 6}), &value), Status::kOk);
    CHECK(value == 10 + 3 + 3);  // even payload 6: escape symbol + 3
    CHECK_STATUS(decode_one(cdf, 10, craft(cdf, 3, {1, 6, 1}), &value), Status::kOk);
    CHECK(value == 10 + 3 + (6 + 16) / 2);
    CHECK_STATUS(decode_one(cdf, 10, craft(cdf, 3, {0, 5}), &value), Status::kOk);
    CHECK(value == 10 - 3);  // odd payload 5: three below the table
    // An escape with a zero last chunk is overlong: the encoder sends the fewest chunks.
    CHECK_STATUS(decode_one(cdf, 10, craft(cdf, 3, {1, 6, 0}), &value), Status::kCorrupted);
    // More chunks than an int32 payload needs.
    CHECK_STATUS(decode_one(cdf, 10, craft(cdf, 3, {9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1}), &value), Status::kCorrupted);
    // A symbol whose value would be above INT32_MAX (the offset puts symbol 2 there).
    const int32_t top = std::numeric_limits<int32_t>::max() - 1;
    CHECK_STATUS(decode_one(cdf, top, craft(cdf, 1, {}), &value), Status::kOk);
    CHECK(value == std::numeric_limits<int32_t>::max());
    CHECK_STATUS(decode_one(cdf, top, craft(cdf, 2, {}), &value), Status::kCorrupted);
    // Escapes beyond int32 either way.
    CHECK_STATUS(decode_one(cdf, top, craft(cdf, 3, {0, 2}), &value), Status::kCorrupted);
    CHECK_STATUS(decode_one(cdf, std::numeric_limits<int32_t>::min(), craft(cdf, 3, {0, 1}), &value),
                 Status::kCorrupted);
    // A stream that does not end in the encoder's initial state was not made by the encoder
    // (wrong tables, indexes or data), though every symbol decoded.
    for (uint32_t delta : {1u, 255u, 12345u, 1u << 22}) {
        CHECK_STATUS(decode_one(cdf, 10, craft(cdf, 1, {}, kCraftStateLow + delta), &value), Status::kCorrupted);
    }
}

TEST_CASE(rans_initial_state_outside_its_range_is_refused) {
    const std::vector<int32_t> cdf = {0, 16384, 32768, 49152, 65536};
    int32_t value = 0;
    // Header state 0x80 (below 2^23), then two zero bytes: symbol 0 decodes and the state
    // refills to exactly 2^23, so only the initial-state check can refuse this stream.
    CHECK_STATUS(decode_one(cdf, 10, {0x80, 0, 0, 0, 0, 0}, &value), Status::kCorrupted);
    // The same ending from a valid state decodes.
    CHECK_STATUS(decode_one(cdf, 10, craft(cdf, 0, {}), &value), Status::kOk);
    CHECK(value == 10);
    // At or above 2^31.
    CHECK_STATUS(decode_one(cdf, 10, {0, 0, 0, 0x80}, &value), Status::kCorrupted);
}
