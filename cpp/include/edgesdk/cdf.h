// Building integer CDF tables for the rANS coder, bit-identically on every platform.
//
// Only IEEE-754 double +, -, *, / (correctly rounded everywhere) and our own exp/erfc
// built from them are used: no libm, no fused multiply-add (the file is compiled with
// -ffp-contract=off). Tables are built at export time and shipped as integers; these
// builders exist so that every tool that makes them makes the same ones.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgesdk/status.h"

namespace edgesdk {
namespace cdf {

// Quantizes probabilities pmf[0..n) plus the mass of everything else (`tail_mass`,
// given to the escape symbol) into a CDF of n + 2 entries summing to 2^16 with every
// frequency >= 1. Rounding surplus or deficit is spread proportionally over the symbols.
Status quantize_pmf(const double* pmf, int64_t n, double tail_mass, std::vector<int32_t>* cdf,
                    std::string* detail);

// A zero-mean Gaussian of standard deviation `scale` discretised to integer bins,
// truncated to [-k, k] with the smallest k that leaves at most `tail_mass` outside.
// Output: the CDF (escape symbol last) and its offset (-k).
Status gaussian_cdf(double scale, double tail_mass, std::vector<int32_t>* cdf, int32_t* offset,
                    std::string* detail);

// Deterministic building blocks, exposed for tests.
double deterministic_exp(double x);
double deterministic_erfc(double x);

}  // namespace cdf
}  // namespace edgesdk
