// rANS with 32-bit states, byte-wise renormalisation and kLanes interleaved states.
// States live in [2^23, 2^31): 2^7 times the table precision, which keeps the coding
// loss from integer division far below 0.01% (at 2^16 it was about 0.1%).
// Element i is coded in lane i % lanes. The encoder runs from the last element to the
// first and the decoder from the first to the last, so the shared word stream written
// backwards by the encoder is read forwards by the decoder.
#include "edgesdk/rans.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace edgesdk {
namespace rans {

namespace {

constexpr uint32_t kStateLow = 1u << 23;  // states live in [kStateLow, 2^31)
constexpr int kByteBits = 8;
constexpr uint32_t kSlotMask = kTotal - 1;
constexpr int kLookupShift = kPrecision - kLookupBits;
constexpr uint32_t kBypassMask = (1u << kBypassBits) - 1;
constexpr int kMaxBypassChunks = 1 << kBypassBits;  // the chunk count is itself one chunk
// |value - offset| < 2^33 for int32 inputs, so an escape payload needs at most 35 bits.
constexpr int kMaxPayloadBits = 36;

inline int num_lanes(int64_t n) { return static_cast<int>(std::min<int64_t>(kLanes, n)); }

inline void put(uint32_t& x, uint32_t start, uint32_t freq, int scale_bits, std::vector<uint8_t>& bytes) {
    const uint64_t x_max = (uint64_t{kStateLow >> scale_bits} << kByteBits) * freq;
    while (x >= x_max) {
        bytes.push_back(static_cast<uint8_t>(x));
        x >>= kByteBits;
    }
    x = ((x / freq) << scale_bits) + (x % freq) + start;
}

// Maps an out-of-range value (relative to the table offset) to a non-negative payload:
// below the table -> odd numbers, at or above the escape symbol -> even numbers.
inline uint64_t escape_payload(int64_t relative, int64_t escape_symbol) {
    return relative < 0 ? uint64_t(-2 * relative - 1) : uint64_t(2 * (relative - escape_symbol));
}

inline void put_escape_payload(uint32_t& x, uint64_t payload, std::vector<uint8_t>& bytes) {
    int chunks = 1;
    while (chunks < kMaxBypassChunks && (payload >> (kBypassBits * chunks)) != 0) ++chunks;
    // Reverse order of what the decoder reads: chunk count first, then chunks low to high.
    for (int k = chunks - 1; k >= 0; --k)
        put(x, uint32_t(payload >> (kBypassBits * k)) & kBypassMask, 1, kBypassBits, bytes);
    put(x, uint32_t(chunks - 1), 1, kBypassBits, bytes);
}

struct Reader {
    const uint8_t* p;
    const uint8_t* end;

    // Refills a state that fell below kStateLow. Returns false if the stream is exhausted.
    inline bool renormalize(uint32_t& x) {
        while (x < kStateLow) {
            if (p >= end) return false;
            x = (x << kByteBits) | *p++;
        }
        return true;
    }

    // Branch-free refill for the hot path; the caller guarantees kMaxRefill readable bytes
    // (possibly zero padding past `end`, which the caller then reports as truncation).
    // After a symbol step x >= 2^7, so two bytes always bring it back above 2^23.
    static constexpr ptrdiff_t kMaxRefill = 2;
    inline void renormalize_unchecked(uint32_t& x) {
        for (int step = 0; step < kMaxRefill; ++step) {
            const bool refill = x < kStateLow;
            x = refill ? (x << kByteBits) | *p : x;
            p += refill ? 1 : 0;
        }
    }

    inline bool get_bypass(uint32_t& x, uint32_t* chunk) {
        *chunk = x & kBypassMask;
        x >>= kBypassBits;
        return renormalize(x);
    }
};

}  // namespace

class Coder {
public:
    struct Resolved {
        const uint32_t* cdf;
        const uint16_t* lookup;
        int32_t escape_symbol;
        int32_t offset;
    };

    static inline Resolved resolve(const CdfTables& tables, int32_t index) {
        const CdfTables::Table& t = tables.tables_[static_cast<size_t>(index)];
        return {tables.cdf_.data() + t.cdf_begin, tables.lookup_.data() + t.lookup_begin, t.length - 2,
                t.offset};
    }

    // The part of decoding one element that reads no input: finds the symbol and advances the state.
    static inline uint32_t step(const Resolved& t, uint32_t& x) {
        const uint32_t slot = x & kSlotMask;
        uint32_t s = t.lookup[slot >> kLookupShift];
        while (t.cdf[s + 1] <= slot) ++s;  // stops: cdf[len-1] = kTotal > slot
        const uint32_t start = t.cdf[s];
        x = (t.cdf[s + 1] - start) * (x >> kPrecision) + slot - start;
        return s;
    }

    // The value of symbol s, reading the escape's bypass chunks if s is the escape
    // (the state must already be refilled). Returns kOk, kTruncated or kCorrupted.
    static inline Status value_of(const Resolved& t, uint32_t s, uint32_t& x, Reader& in, int32_t* value) {
        if (static_cast<int32_t>(s) != t.escape_symbol) {
            // A table whose offset puts some symbols above INT32_MAX: the encoder never emits those.
            const int64_t v = int64_t(s) + t.offset;
            if (v > std::numeric_limits<int32_t>::max()) return Status::kCorrupted;
            *value = static_cast<int32_t>(v);
            return Status::kOk;
        }
        uint32_t count_minus_one = 0;
        if (!in.get_bypass(x, &count_minus_one)) return Status::kTruncated;
        // The encoder sends the fewest chunks, never more than an int32 payload needs.
        if (count_minus_one >= kMaxPayloadBits / kBypassBits) return Status::kCorrupted;
        uint64_t payload = 0;
        for (uint32_t k = 0; k <= count_minus_one; ++k) {
            uint32_t chunk = 0;
            if (!in.get_bypass(x, &chunk)) return Status::kTruncated;
            payload |= uint64_t{chunk} << (kBypassBits * k);
            if (k == count_minus_one && k > 0 && chunk == 0) return Status::kCorrupted;
        }
        const int64_t relative = (payload & 1u) ? -int64_t((payload + 1) >> 1)
                                                : int64_t(t.escape_symbol) + int64_t(payload >> 1);
        const int64_t v = relative + t.offset;
        if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
            return Status::kCorrupted;
        *value = static_cast<int32_t>(v);
        return Status::kOk;
    }

    // Decodes one element with bounds-checked reads.
    static inline Status decode_one(const Resolved& t, uint32_t& x, Reader& in, int32_t* value) {
        const uint32_t s = step(t, x);
        if (!in.renormalize(x)) return Status::kTruncated;
        return value_of(t, s, x, in, value);
    }
};

Status CdfTables::create(const int32_t* cdfs, int64_t num_tables, int64_t row_stride,
                         const int32_t* cdf_lengths, const int32_t* offsets, CdfTables* out,
                         std::string* detail) {
    if (num_tables < 0 || row_stride < 0 || (num_tables > 0 && (!cdfs || !cdf_lengths || !offsets))) {
        set_detail(detail, "CDF tables: invalid array shapes");
        return Status::kInvalidArgument;
    }
    if (num_tables > std::numeric_limits<int32_t>::max()) {
        set_detail(detail, "CDF tables: too many tables for int32 indexes");
        return Status::kLimitExceeded;
    }
    CdfTables result;
    result.tables_.resize(static_cast<size_t>(num_tables));
    for (int64_t t = 0; t < num_tables; ++t) {
        const int32_t length = cdf_lengths[t];
        const std::string where = "CDF table " + std::to_string(t) + ": ";
        if (length < 2 || length > kMaxCdfLength || length > row_stride) {
            set_detail(detail, where + "cdf_length " + std::to_string(length) + " outside [2, min(" +
                                   std::to_string(kMaxCdfLength) + ", row length " +
                                   std::to_string(row_stride) + ")]");
            return Status::kInvalidTable;
        }
        const int32_t* row = cdfs + t * row_stride;
        if (row[0] != 0 || static_cast<uint32_t>(row[length - 1]) != kTotal) {
            set_detail(detail, where + "must start at 0 and end at 65536 (got " + std::to_string(row[0]) +
                                   " and " + std::to_string(row[length - 1]) + ")");
            return Status::kInvalidTable;
        }
        for (int32_t k = 1; k < length; ++k) {
            if (row[k] <= row[k - 1]) {
                set_detail(detail, where + "not strictly increasing at entry " + std::to_string(k) +
                                       " (every symbol, escape included, needs frequency >= 1)");
                return Status::kInvalidTable;
            }
        }
        Table& table = result.tables_[static_cast<size_t>(t)];
        table.length = length;
        table.offset = offsets[t];
        table.cdf_begin = result.cdf_.size();
        table.lookup_begin = result.lookup_.size();
        result.cdf_.insert(result.cdf_.end(), row, row + length);
        uint32_t s = 0;
        for (uint32_t bucket = 0; bucket < (1u << kLookupBits); ++bucket) {
            const uint32_t first_slot = bucket << kLookupShift;
            while (static_cast<uint32_t>(row[s + 1]) <= first_slot) ++s;
            result.lookup_.push_back(static_cast<uint16_t>(s));
        }
    }
    *out = std::move(result);
    return Status::kOk;
}

Status encode(const CdfTables& tables, const int32_t* values, const int32_t* indexes, int64_t n,
              std::vector<uint8_t>* out, std::string* detail) {
    if (n < 0 || (n > 0 && (!values || !indexes)) || !out) {
        set_detail(detail, "encode: invalid arguments");
        return Status::kInvalidArgument;
    }
    if (n == 0) return Status::kOk;
    const int lanes = num_lanes(n);
    const uint64_t num_tables = static_cast<uint64_t>(tables.num_tables());
    uint32_t states[kLanes];
    std::fill(states, states + kLanes, kStateLow);
    std::vector<uint8_t> bytes;
    bytes.reserve(static_cast<size_t>(n + 16));
    for (int64_t i = n - 1; i >= 0; --i) {
        const int32_t index = indexes[i];
        if (index < 0 || static_cast<uint64_t>(index) >= num_tables) {
            set_detail(detail, "encode: index " + std::to_string(index) + " at element " + std::to_string(i) +
                                   " is outside [0, " + std::to_string(num_tables) + ")");
            return Status::kInvalidArgument;
        }
        const Coder::Resolved t = Coder::resolve(tables, index);
        uint32_t& x = states[i % lanes];
        const int64_t relative = int64_t(values[i]) - t.offset;
        int64_t s = relative;
        if (relative < 0 || relative >= t.escape_symbol) {
            put_escape_payload(x, escape_payload(relative, t.escape_symbol), bytes);
            s = t.escape_symbol;
        }
        put(x, t.cdf[s], t.cdf[s + 1] - t.cdf[s], kPrecision, bytes);
    }
    const size_t begin = out->size();
    out->resize(begin + 4 * size_t(lanes) + bytes.size());
    uint8_t* p = out->data() + begin;
    for (int lane = 0; lane < lanes; ++lane) {
        for (int b = 0; b < 4; ++b) *p++ = static_cast<uint8_t>(states[lane] >> (8 * b));
    }
    std::copy(bytes.rbegin(), bytes.rend(), p);
    return Status::kOk;
}

Status decode(const CdfTables& tables, const uint8_t* data, size_t size, const int32_t* indexes, int64_t n,
              int32_t* out, std::string* detail) {
    if (n < 0 || (n > 0 && (!indexes || !out)) || (size > 0 && !data)) {
        set_detail(detail, "decode: invalid arguments");
        return Status::kInvalidArgument;
    }
    if (n == 0) {
        if (size == 0) return Status::kOk;
        set_detail(detail, "decode: " + std::to_string(size) + " bytes for zero elements");
        return Status::kCorrupted;
    }
    const int lanes = num_lanes(n);
    const size_t header = 4 * size_t(lanes);
    if (size < header) {
        set_detail(detail, "decode: stream of " + std::to_string(size) + " bytes is shorter than its " +
                               std::to_string(header) + "-byte state header");
        return Status::kTruncated;
    }
    uint32_t states[kLanes] = {kStateLow, kStateLow, kStateLow, kStateLow};
    for (int lane = 0; lane < lanes; ++lane) {
        const uint8_t* q = data + 4 * lane;
        states[lane] = uint32_t(q[0]) | uint32_t(q[1]) << 8 | uint32_t(q[2]) << 16 | uint32_t(q[3]) << 24;
        if (states[lane] < kStateLow || states[lane] >= (kStateLow << kByteBits)) {
            set_detail(detail, "decode: initial rANS state of lane " + std::to_string(lane) + " is invalid");
            return Status::kCorrupted;
        }
    }
    // The body gets zero padding so the hot loop refills without a bounds check per symbol;
    // reading into the padding is caught once per group (and at the end) as truncation.
    constexpr size_t kPadding = 16;
    std::vector<uint8_t> body(size - header + kPadding, 0);
    if (size > header) std::memcpy(body.data(), data + header, size - header);
    Reader in{body.data(), body.data() + (size - header)};
    const uint32_t num_tables = static_cast<uint32_t>(tables.num_tables());
    auto fail = [&](Status status, int64_t i) {
        if (status == Status::kInvalidArgument) {
            set_detail(detail, "decode: index " + std::to_string(indexes[i]) + " at element " + std::to_string(i) +
                                   " is outside [0, " + std::to_string(num_tables) + ")");
        } else {
            set_detail(detail, "decode: stream " +
                                   std::string(status == Status::kTruncated ? "ends early" : "is inconsistent") +
                                   " at element " + std::to_string(i) + " of " + std::to_string(n));
        }
        return status;
    };
    int64_t i = 0;
    if (lanes == kLanes) {
        // Hot path: one element per lane per iteration keeps four independent state chains in flight.
        static_assert(kPadding >= kLanes * Reader::kMaxRefill, "a group may read this far past the end");
        static_assert(kLanes == 4, "the hot loop is written out for four lanes");
        uint32_t x0 = states[0], x1 = states[1], x2 = states[2], x3 = states[3];
        for (; i + kLanes <= n; i += kLanes) {
            if (in.p > in.end) return fail(Status::kTruncated, i);
            for (int lane = 0; lane < kLanes; ++lane)
                if (static_cast<uint32_t>(indexes[i + lane]) >= num_tables) return fail(Status::kInvalidArgument, i + lane);
            const Coder::Resolved t0 = Coder::resolve(tables, indexes[i]), t1 = Coder::resolve(tables, indexes[i + 1]),
                                  t2 = Coder::resolve(tables, indexes[i + 2]), t3 = Coder::resolve(tables, indexes[i + 3]);
            // The four symbol steps read no input, so they run in parallel; the refills then
            // take bytes in lane order, as the encoder wrote them.
            const uint32_t s0 = Coder::step(t0, x0), s1 = Coder::step(t1, x1), s2 = Coder::step(t2, x2),
                           s3 = Coder::step(t3, x3);
            Status st;
            in.renormalize_unchecked(x0);
            if ((st = Coder::value_of(t0, s0, x0, in, out + i)) != Status::kOk) return fail(st, i);
            in.renormalize_unchecked(x1);
            if ((st = Coder::value_of(t1, s1, x1, in, out + i + 1)) != Status::kOk) return fail(st, i + 1);
            in.renormalize_unchecked(x2);
            if ((st = Coder::value_of(t2, s2, x2, in, out + i + 2)) != Status::kOk) return fail(st, i + 2);
            in.renormalize_unchecked(x3);
            if ((st = Coder::value_of(t3, s3, x3, in, out + i + 3)) != Status::kOk) return fail(st, i + 3);
        }
        states[0] = x0, states[1] = x1, states[2] = x2, states[3] = x3;
        if (in.p > in.end) return fail(Status::kTruncated, i - 1);
    }
    for (; i < n; ++i) {
        const uint32_t index = static_cast<uint32_t>(indexes[i]);
        if (index >= num_tables) return fail(Status::kInvalidArgument, i);
        const Status st = Coder::decode_one(Coder::resolve(tables, int32_t(index)), states[i % lanes], in, out + i);
        if (st != Status::kOk) return fail(st, i);
    }
    if (in.p != in.end) {
        set_detail(detail, "decode: " + std::to_string(in.end - in.p) + " bytes left after the last element");
        return Status::kCorrupted;
    }
    for (int lane = 0; lane < lanes; ++lane) {
        if (states[lane] != kStateLow) {
            set_detail(detail, "decode: final rANS state of lane " + std::to_string(lane) +
                                   " does not match the encoder's start (wrong tables, indexes or data)");
            return Status::kCorrupted;
        }
    }
    return Status::kOk;
}

}  // namespace rans
}  // namespace edgesdk
