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
