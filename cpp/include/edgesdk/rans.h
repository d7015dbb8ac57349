// Interleaved rANS entropy coder over integer CDF tables (see docs/entropy.md).
//
// Tables follow the convention CompressAI users know: table t has cdf_length[t]
// entries cdf[0] = 0 < cdf[1] < ... < cdf[len-1] = 2^16. Symbols 0 .. len-3 are
// coded directly; symbol len-2 is the escape, after which the value is sent in
// 4-bit bypass chunks, so any int32 can be coded with any table. The value of an
// element is `symbol + offset[t]`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "edgesdk/status.h"

namespace edgesdk {
namespace rans {

constexpr int kPrecision = 16;                    // bits of every CDF table
constexpr uint32_t kTotal = 1u << kPrecision;     // cdf[len-1]
constexpr int kLanes = 4;                         // interleaved rANS states
constexpr int kBypassBits = 4;                    // width of one escape chunk
constexpr int32_t kMaxCdfLength = kTotal + 1;     // every symbol needs frequency >= 1
constexpr int kLookupBits = 10;                   // decode lookup: 2^10 buckets per table

// Validated, immutable set of CDF tables with the decoder's lookup structure.
// Safe to share between threads.
class CdfTables {
public:
    CdfTables() = default;

    // cdfs is row-major [num_tables x row_stride]; row t uses its first cdf_lengths[t] entries.
    // On error returns the status and describes the offending entry in *detail (if non-null).
    static Status create(const int32_t* cdfs, int64_t num_tables, int64_t row_stride,
                         const int32_t* cdf_lengths, const int32_t* offsets, CdfTables* out,
                         std::string* detail);

    int64_t num_tables() const { return static_cast<int64_t>(tables_.size()); }
    int32_t cdf_length(int64_t t) const { return tables_[t].length; }
    int32_t offset(int64_t t) const { return tables_[t].offset; }
    const uint32_t* cdf(int64_t t) const { return cdf_.data() + tables_[t].cdf_begin; }

private:
    struct Table {
        int32_t length = 0;
        int32_t offset = 0;
        size_t cdf_begin = 0;
        size_t lookup_begin = 0;
    };
    friend class Coder;
    std::vector<Table> tables_;
    std::vector<uint32_t> cdf_;       // all tables, concatenated
    std::vector<uint16_t> lookup_;    // per table: first symbol whose interval meets each bucket
};

// Encodes n values (element i with table indexes[i]) and appends the stream to *out.
Status encode(const CdfTables& tables, const int32_t* values, const int32_t* indexes, int64_t n,
              std::vector<uint8_t>* out, std::string* detail);

// Decodes n values from a stream made by encode() with the same tables and indexes.
// Never reads outside [data, data+size) and writes exactly n values to out.
// Fails with kTruncated / kCorrupted if the stream does not decode to exactly its length
// with every rANS state back at its initial value.
Status decode(const CdfTables& tables, const uint8_t* data, size_t size, const int32_t* indexes,
              int64_t n, int32_t* out, std::string* detail);

}  // namespace rans
}  // namespace edgesdk
