#include <cmath>
#include <vector>

#include "check.h"
#include "edgesdk/cdf.h"
#include "edgesdk/rans.h"

using edgesdk::Status;
using namespace edgesdk;

namespace {

bool is_valid_cdf(const std::vector<int32_t>& cdf) {
    if (cdf.size() < 2 || cdf.front() != 0 || cdf.back() != int32_t(rans::kTotal)) return false;
    for (size_t k = 1; k < cdf.size(); ++k)
        if (cdf[k] <= cdf[k - 1]) return false;
    return true;
}

}  // namespace

TEST_CASE(cdf_deterministic_math_matches_reference_values) {
    // Reference values to 15+ digits (erfc from series tables, exp(1) = e).
    CHECK(cdf::deterministic_erfc(0.0) == 1.0);
    CHECK(std::fabs(cdf::deterministic_erfc(0.5) / 0.4795001221869535 - 1) < 1e-14);
    CHECK(std::fabs(cdf::deterministic_erfc(1.0) / 0.15729920705028513 - 1) < 1e-14);
    CHECK(std::fabs(cdf::deterministic_erfc(3.0) / 2.209049699858544e-05 - 1) < 1e-12);
    CHECK(std::fabs(cdf::deterministic_erfc(6.0) / 2.151973671249892e-17 - 1) < 1e-12);
    CHECK(std::fabs(cdf::deterministic_erfc(-1.0) / 1.8427007929497148 - 1) < 1e-14);
    CHECK(std::fabs(cdf::deterministic_exp(1.0) / 2.718281828459045 - 1) < 1e-15);
    CHECK(std::fabs(cdf::deterministic_exp(-20.5) / 1.2501528663867426e-09 - 1) < 1e-14);
    CHECK(cdf::deterministic_exp(-1000.0) == 0.0);
}

TEST_CASE(cdf_quantize_pmf_is_valid_and_proportional) {
    edgesdk_test::Random rng(11);
    for (int trial = 0; trial < 200; ++trial) {
        const int64_t n = 1 + int64_t(rng.below(trial < 10 ? 60000 : 500));
        std::vector<double> pmf(static_cast<size_t>(n));
        for (double& p : pmf) p = rng.below(3) == 0 ? 0.0 : double(rng.below(1u << 20));
        std::vector<int32_t> out;
        const Status st = cdf::quantize_pmf(pmf.data(), n, double(rng.below(100)), &out, nullptr);
        if (st != Status::kOk) {
            CHECK(st == Status::kInvalidArgument);  // all-zero pmf and tail
            continue;
        }
        CHECK(int64_t(out.size()) == n + 2);
        CHECK(is_valid_cdf(out));
    }
    std::vector<double> halves = {0.5, 0.25, 0.25};
    std::vector<int32_t> out;
    CHECK_STATUS(cdf::quantize_pmf(halves.data(), 3, 0.0, &out, nullptr), Status::kOk);
    // 1 count goes to the escape; the largest symbol absorbs it.
    CHECK((out == std::vector<int32_t>{0, 32767, 49151, 65535, 65536}));
}

TEST_CASE(cdf_quantize_pmf_rejects_bad_input) {
    std::vector<int32_t> out;
    std::vector<double> negative = {0.5, -0.1};
    CHECK_STATUS(cdf::quantize_pmf(negative.data(), 2, 0.0, &out, nullptr), Status::kInvalidArgument);
    std::vector<double> nan = {0.5, std::nan("")};
    CHECK_STATUS(cdf::quantize_pmf(nan.data(), 2, 0.0, &out, nullptr), Status::kInvalidArgument);
    std::vector<double> zero = {0.0, 0.0};
    CHECK_STATUS(cdf::quantize_pmf(zero.data(), 2, 0.0, &out, nullptr), Status::kInvalidArgument);
    std::vector<double> too_many(65536, 1.0);
    CHECK_STATUS(cdf::quantize_pmf(too_many.data(), 65536, 0.0, &out, nullptr), Status::kInvalidArgument);
    CHECK_STATUS(cdf::quantize_pmf(too_many.data(), 65535, 0.0, &out, nullptr), Status::kOk);
}

TEST_CASE(cdf_gaussian_tables_are_symmetric_and_bounded) {
    double previous_k = -1;
    for (double scale : {0.11, 0.5, 1.0, 3.7, 20.0, 256.0, 4000.0}) {
        std::vector<int32_t> out;
        int32_t offset = 0;
        CHECK_STATUS(cdf::gaussian_cdf(scale, 1e-9, &out, &offset, nullptr), Status::kOk);
        CHECK(is_valid_cdf(out));
        const int32_t k = -offset;
        CHECK(int32_t(out.size()) == 2 * k + 3);
        CHECK(k >= previous_k);
        previous_k = k;
        // Mass outside [-k-0.5, k+0.5] at most the tail; one symbol less would exceed it.
        CHECK(std::erfc((k + 0.5) / scale / std::sqrt(2.0)) <= 1e-9 * (1 + 1e-9));
        if (k > 0) CHECK(std::erfc((k - 0.5) / scale / std::sqrt(2.0)) > 1e-9);
        for (int32_t v = 1; v <= k; ++v) {
            const int32_t up = out[size_t(k + v) + 1] - out[size_t(k + v)];
            const int32_t down = out[size_t(k - v) + 1] - out[size_t(k - v)];
            CHECK(std::abs(up - down) <= 1);  // rounding surplus may land on one side
        }
    }
    std::vector<int32_t> out;
    int32_t offset;
    CHECK_STATUS(cdf::gaussian_cdf(0.0, 1e-9, &out, &offset, nullptr), Status::kInvalidArgument);
    CHECK_STATUS(cdf::gaussian_cdf(std::nan(""), 1e-9, &out, &offset, nullptr), Status::kInvalidArgument);
    CHECK_STATUS(cdf::gaussian_cdf(1.0, 0.0, &out, &offset, nullptr), Status::kInvalidArgument);
}
