#include "edgesdk/cdf.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

#include "edgesdk/rans.h"

namespace edgesdk {
namespace cdf {

namespace {

constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2 split so k * kLn2Hi is exact
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kInvSqrtPi = 0.56418958354775628695;
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr int32_t kMaxHalfWidth = (rans::kMaxCdfLength - 3) / 2;  // 2k+1 symbols + escape fit

// IEEE defaults while building a table: round to nearest, subnormals kept (no flush-to-zero,
// no denormals-are-zero). Libraries in the same thread (ONNX Runtime, PyTorch, a camera stack)
// may have switched these; the tables must not depend on who ran before us.
class IeeeDefaults {
public:
#if defined(__x86_64__) || defined(_M_X64)
    IeeeDefaults() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ & ~kModeBits); }
    ~IeeeDefaults() { _mm_setcsr(saved_); }

private:
    static constexpr unsigned kModeBits = 0x8000u | 0x0040u | 0x6000u;  // FTZ, DAZ, rounding control
    unsigned saved_;
#elif defined(__aarch64__)
    IeeeDefaults() {
        asm volatile("mrs %0, fpcr" : "=r"(saved_));
        const uint64_t ieee = saved_ & ~kModeBits;
        asm volatile("msr fpcr, %0" : : "r"(ieee));
    }
    ~IeeeDefaults() { asm volatile("msr fpcr, %0" : : "r"(saved_)); }

private:
    static constexpr uint64_t kModeBits = (uint64_t{1} << 24) | (uint64_t{3} << 22);  // FZ, rounding mode
    uint64_t saved_;
#endif
};

}  // namespace

double deterministic_exp(double x) {
    if (x != x) return x;
    // Beyond these, exp underflows to 0 or overflows to infinity (ldexp rounds the edges exactly).
    if (x < -746.0) return 0.0;
    if (x > 710.0) return std::numeric_limits<double>::infinity();
    // x = k ln2 + r with |r| <= ln2 / 2; exp(r) by its Taylor series (fixed 17 terms, error < 1e-17).
    const double kd = std::floor(x * kInvLn2 + 0.5);
    const double r = (x - kd * kLn2Hi) - kd * kLn2Lo;
    double sum = 1.0;
    for (int term = 17; term >= 1; --term) sum = 1.0 + sum * r / term;
    return std::ldexp(sum, static_cast<int>(kd));  // exact scaling by 2^k
}

double deterministic_erfc(double x) {
    if (x != x) return x;
    if (x < 0.0) return 2.0 - deterministic_erfc(-x);
    if (x < 2.5) {
        // erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)); all terms positive.
        const double x2 = x * x;
        double term = x;
        double sum = x;
        for (int n = 1; n <= 80; ++n) {
            term = term * 2.0 * x2 / (2 * n + 1);
            sum += term;
        }
        return 1.0 - 2.0 * kInvSqrtPi * deterministic_exp(-x2) * sum;
    }
    if (x > 27.3) return 0.0;  // below the smallest subnormal
    // Continued fraction erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
    // evaluated bottom-up over a fixed depth.
    double fraction = x;
    for (int k = 60; k >= 1; --k) fraction = x + (0.5 * k) / fraction;
    return kInvSqrtPi * deterministic_exp(-x * x) / fraction;
}

Status quantize_pmf(const double* pmf, int64_t n, double tail_mass, std::vector<int32_t>* cdf,
                    std::string* detail) {
    const IeeeDefaults ieee;
    if (n < 0 || n + 1 > int64_t{rans::kTotal} || (n > 0 && !pmf) || !cdf) {
        set_detail(detail, "quantize_pmf: need 0 <= n < 65536 probabilities");
        return Status::kInvalidArgument;
    }
    if (!(tail_mass >= 0.0) || tail_mass > 1e300) {
        set_detail(detail, "quantize_pmf: tail_mass must be finite and >= 0");
        return Status::kInvalidArgument;
    }
    double total = tail_mass;
    for (int64_t i = 0; i < n; ++i) {
        if (!(pmf[i] >= 0.0) || pmf[i] > 1e300) {
            set_detail(detail, "quantize_pmf: probability " + std::to_string(i) + " is negative or not finite");
            return Status::kInvalidArgument;
        }
        total += pmf[i];
    }
    if (!(total > 0.0)) {
        set_detail(detail, "quantize_pmf: probabilities sum to zero");
        return Status::kInvalidArgument;
    }
    const int64_t symbols = n + 1;  // escape last
    std::vector<int64_t> freq(static_cast<size_t>(symbols));
    int64_t sum = 0;
    for (int64_t i = 0; i < symbols; ++i) {
        const double p = i < n ? pmf[i] : tail_mass;
        const double scaled = std::floor(p / total * double(rans::kTotal) + 0.5);
        freq[i] = scaled < 1.0 ? 1 : static_cast<int64_t>(scaled);
        sum += freq[i];
    }
    const int64_t target = rans::kTotal;
    if (sum != target) {
        // Proportional pass over what each symbol can give (f - 1, keeping f >= 1) or take (f),
        // then the remainder one count each on the largest frequencies.
        const int64_t diff = target - sum;  // > 0: add, < 0: remove
        const int64_t magnitude = diff < 0 ? -diff : diff;
        const int64_t capacity = diff < 0 ? sum - symbols : sum;  // >= magnitude, as symbols <= 2^16
        int64_t adjusted = 0;
        for (int64_t i = 0; i < symbols; ++i) {
            const int64_t share = (diff < 0 ? freq[i] - 1 : freq[i]) * magnitude / capacity;
            freq[i] += diff < 0 ? -share : share;
            adjusted += share;
        }
        // Each floor above lost less than one count per symbol, so one pass over the symbols,
        // largest first (ties: lower index), settles the remainder one count each.
        int64_t remainder = magnitude - adjusted;
        std::vector<int64_t> order(static_cast<size_t>(symbols));
        for (int64_t i = 0; i < symbols; ++i) order[size_t(i)] = i;
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return freq[a] > freq[b]; });
        while (remainder > 0) {
            const int64_t before = remainder;
            for (int64_t i : order) {
                if (remainder == 0) break;
                if (diff < 0 && freq[i] <= 1) continue;
                freq[i] += diff < 0 ? -1 : 1;
                --remainder;
            }
            if (remainder == before) break;  // cannot happen: capacity always covers the deficit
        }
    }
    cdf->assign(static_cast<size_t>(symbols + 1), 0);
    for (int64_t i = 0; i < symbols; ++i) (*cdf)[i + 1] = static_cast<int32_t>((*cdf)[i] + freq[i]);
    if ((*cdf)[symbols] != int32_t(rans::kTotal)) {
        set_detail(detail, "quantize_pmf: internal error, CDF does not sum to 65536");
        return Status::kInvalidArgument;
    }
    return Status::kOk;
}

Status gaussian_cdf(double scale, double tail_mass, std::vector<int32_t>* cdf, int32_t* offset,
                    std::string* detail) {
    const IeeeDefaults ieee;
    if (!(scale > 0.0) || scale > 1e6) {
        set_detail(detail, "gaussian_cdf: scale must be in (0, 1e6]");
        return Status::kInvalidArgument;
    }
    if (!(tail_mass > 0.0) || !(tail_mass < 1.0)) {
        set_detail(detail, "gaussian_cdf: tail_mass must be in (0, 1)");
        return Status::kInvalidArgument;
    }
    if (!offset || !cdf) return Status::kInvalidArgument;
    // Upper-tail probability P(X > t) for X ~ N(0, scale^2).
    auto upper = [scale](double t) { return 0.5 * deterministic_erfc(t / scale * kInvSqrt2); };
    int32_t k = 0;
    while (k < kMaxHalfWidth && 2.0 * upper(k + 0.5) > tail_mass) k = k == 0 ? 1 : std::min(2 * k, kMaxHalfWidth);
    // Smallest k with 2 * upper(k + 0.5) <= tail_mass, by bisection below the doubling bound.
    int32_t lo = k / 2, hi = k;
    while (lo < hi) {
        const int32_t mid = lo + (hi - lo) / 2;
        if (2.0 * upper(mid + 0.5) <= tail_mass) hi = mid; else lo = mid + 1;
    }
    k = hi;
    std::vector<double> pmf(static_cast<size_t>(2 * k + 1));
    for (int32_t v = 0; v <= k; ++v) {
        const double p = v == 0 ? 1.0 - 2.0 * upper(0.5) : upper(v - 0.5) - upper(v + 0.5);
        pmf[static_cast<size_t>(k + v)] = p;
        pmf[static_cast<size_t>(k - v)] = p;
    }
    *offset = -k;
    return quantize_pmf(pmf.data(), int64_t(pmf.size()), 2.0 * upper(k + 0.5), cdf, detail);
}

}  // namespace cdf
}  // namespace edgesdk
