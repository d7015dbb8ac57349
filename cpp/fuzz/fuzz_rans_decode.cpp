// libFuzzer target for the rANS coder and the CDF builders (docs/fuzzing.md).
//
// Input layout (all integers little-endian; reading past the end of the input gives zeros):
//
//   byte 0        control: bits 0-2 = number of tables - 1 (1..8)
//                          bits 4-5 = index mode: 0 index[i] = i % T
//                                                 1 index[i] = pattern[i % P] % T
//                                                 2 index[i] = T - 1
//                                                 3 like 1, but pattern bytes >= 0xF0 are kept raw
//                                                   as int8 (negative) and 0xE0..0xEF mean T + (b & 15),
//                                                   i.e. invalid indexes
//                          bit 7    = 0: decode mode, 1: round-trip mode
//   bytes 1-2     u16 v; n = (v & 0x7FFF) % 4097 if v & 0x8000 else v % 257 (elements, 0..4096)
//   [mode 1, 3]   byte P' (P = P' % 16 + 1), then P pattern bytes
//   per table     descriptor byte d:
//                   d < 0x80  quantize_pmf table: byte L' (L = L' + 1 symbols, 1..256),
//                             K = min(L, 32) bytes b[k]; pmf[i] = b[i % K];
//                             byte tail (tail_mass = tail, same units as the pmf bytes);
//                             byte o (offset code, below); offset = code value
//                   d >= 0x80 gaussian_cdf table: byte c; code = (d & 0x7F) << 8 | c;
//                             scale = ((code & 0xFFF) + 1) * 2^(code >> 12) / 4096 (exact; 2^-12 .. 128);
//                             byte t: tail_mass = ((t & 7) + 8) / 16 * 2^-(1 + (t >> 3)) (exact;
//                             2^-33 .. 0.47, 1e-9 is the library's default); byte o: offset = gaussian offset
//                             + code value (offset codes replace it when special)
//                 offset codes (int8 o): 127 -> INT32_MAX, -128 -> INT32_MIN,
//                   126 -> INT32_MAX - escape symbol (the table reaches INT32_MAX),
//                   -127 -> INT32_MIN + 1, otherwise o (added to the gaussian offset)
//   rest          decode mode: the rANS stream given to rans::decode
//                 round-trip mode: one value per element, each a control byte c:
//                   c < 0xC0  offset + c - 32 (around the table, both escape directions)
//                   c < 0xF0  the next 4 bytes as an int32
//                   0xF0 INT32_MIN, 0xF1 INT32_MAX, 0xF2 offset + escape symbol (first above),
//                   0xF3 offset - 1, 0xF4 offset + escape symbol - 1 (last coded directly),
//                   0xF5 INT32_MIN + 1, 0xF6 INT32_MAX - 1, 0xF7..0xFF offset +/- large (2^16 .. 2^32)
//                 (int64 arithmetic wrapped to int32)
//
// Properties (abort() on violation):
//  * quantize_pmf succeeds unless every mass is zero, gaussian_cdf succeeds on these arguments,
//    and CdfTables::create accepts what they return (it may refuse, with kInvalidTable, only a
//    table whose directly coded values offset .. offset + escape - 1 do not all fit in int32);
//  * decode never reads or writes out of bounds (ASan), returns kInvalidArgument only when some
//    index is invalid, and when it succeeds every index was valid and encode() of the decoded
//    values reproduces the input stream byte for byte (streams are canonical);
//  * round trip: encode succeeds iff every index is valid, decode(encode(v)) == v, and the
//    stream with its last byte dropped or an extra byte appended does not decode (the decoder
//    reads the same bytes in the same order, so it runs short, or finishes with one left).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "edgesdk/cdf.h"
#include "edgesdk/rans.h"
#include "edgesdk/status.h"

using namespace edgesdk;

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail = std::string()) {
    std::fprintf(stderr, "fuzz_rans_decode: property violated: %s %s\n", what, detail.c_str());
    std::abort();
}

#define REQUIRE(cond)                \
    do {                             \
        if (!(cond)) fail(#cond);    \
    } while (0)

struct Input {
    const uint8_t* data;
    size_t size;
    size_t pos = 0;
    uint8_t u8() { return pos < size ? data[pos++] : (pos++, 0); }
    uint16_t u16() {
        const uint16_t lo = u8();
        return uint16_t(lo | (u8() << 8));
    }
    uint32_t u32() {
        uint32_t v = 0;
        for (int b = 0; b < 4; ++b) v |= uint32_t(u8()) << (8 * b);
        return v;
    }
    size_t consumed() const { return pos < size ? pos : size; }
};

constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();

int32_t wrap32(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v))); }

// Offset from an offset code, for a table whose escape symbol is `escape` and natural offset `base`.
int32_t offset_from_code(uint8_t code, int32_t base, int32_t escape) {
    const int8_t o = static_cast<int8_t>(code);
    switch (o) {
        case 127: return kI32Max;
        case -128: return kI32Min;
        case 126: return kI32Max - escape;
        case -127: return kI32Min + 1;
        default: return wrap32(int64_t(base) + o);
    }
}

// Builds one table from its descriptor; false when the input describes no valid table (all-zero pmf).
bool read_table(Input& in, std::vector<int32_t>* cdf, int32_t* offset) {
    std::string detail;
    const uint8_t d = in.u8();
    if (d < 0x80) {
        const int length = in.u8() + 1;
        const int k = length < 32 ? length : 32;
        uint8_t b[32];
        for (int i = 0; i < k; ++i) b[i] = in.u8();
        std::vector<double> pmf(static_cast<size_t>(length));
        bool any = false;
        for (int i = 0; i < length; ++i) {
            pmf[size_t(i)] = b[i % k];
            any = any || b[i % k] != 0;
        }
        const double tail = in.u8();
        any = any || tail != 0;
        const Status st = cdf::quantize_pmf(pmf.data(), length, tail, cdf, &detail);
        if (st != Status::kOk) {
            if (any) fail("quantize_pmf fails on positive masses:", detail);
            return false;
        }
        REQUIRE(cdf->size() == size_t(length) + 2);
        *offset = offset_from_code(in.u8(), 0, length);
        return true;
    }
    const uint32_t code = (uint32_t(d & 0x7F) << 8) | in.u8();
    const double scale = double((code & 0xFFF) + 1) * double(1u << (code >> 12)) / 4096.0;
    const uint8_t tail_code = in.u8();
    const double tail_mass = double((tail_code & 7) + 8) / 16.0 * std::ldexp(1.0, -(1 + (tail_code >> 3)));
    int32_t base = 0;
    const Status st = cdf::gaussian_cdf(scale, tail_mass, cdf, &base, &detail);
    if (st != Status::kOk) fail("gaussian_cdf fails on valid arguments:", detail);
    REQUIRE(cdf->size() >= 3 && cdf->size() % 2 == 1);
    REQUIRE(base == -int32_t((cdf->size() - 3) / 2));
    *offset = offset_from_code(in.u8(), base, int32_t(cdf->size()) - 2);
    return true;
}

int32_t read_value(Input& in, const rans::CdfTables& tables, int32_t index) {
    int64_t offset = 0, escape = 1;
    if (index >= 0 && index < tables.num_tables()) {
        offset = tables.offset(index);
        escape = tables.cdf_length(index) - 2;
    }
    const uint8_t c = in.u8();
    if (c < 0xC0) return wrap32(offset + c - 32);
    if (c < 0xF0) return static_cast<int32_t>(in.u32());
    switch (c) {
        case 0xF0: return kI32Min;
        case 0xF1: return kI32Max;
        case 0xF2: return wrap32(offset + escape);
        case 0xF3: return wrap32(offset - 1);
        case 0xF4: return wrap32(offset + escape - 1);
        case 0xF5: return kI32Min + 1;
        case 0xF6: return kI32Max - 1;
        default: {
            const int64_t big = int64_t{1} << (16 + 2 * (c - 0xF7));  // 2^16 .. 2^32
            return wrap32((c & 1) ? offset + escape + big : offset - big);
        }
    }
}

void dump_values(const char* what, const std::vector<int32_t>& v) {
    std::fprintf(stderr, "%s (%zu):", what, v.size());
    for (size_t i = 0; i < v.size() && i < 64; ++i) std::fprintf(stderr, " %d", v[i]);
    std::fprintf(stderr, "\n");
}

void dump_bytes(const char* what, const uint8_t* p, size_t n) {
    std::fprintf(stderr, "%s (%zu bytes):", what, n);
    for (size_t i = 0; i < n && i < 128; ++i) std::fprintf(stderr, " %02x", p[i]);
    std::fprintf(stderr, "\n");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in{data, size};
    const uint8_t control = in.u8();
    const int num_tables = (control & 7) + 1;
    const int index_mode = (control >> 4) & 3;
    const bool round_trip = (control & 0x80) != 0;
    const uint16_t n_code = in.u16();
    const int64_t n = (n_code & 0x8000) ? (n_code & 0x7FFF) % 4097 : n_code % 257;
    uint8_t pattern[16];
    int pattern_size = 1;
    if (index_mode == 1 || index_mode == 3) {
        pattern_size = in.u8() % 16 + 1;
        for (int k = 0; k < pattern_size; ++k) pattern[k] = in.u8();
    }

    // Tables, row-major with the longest row as stride.
    const size_t table_count = static_cast<size_t>(num_tables);
    std::vector<std::vector<int32_t>> rows(table_count);
    std::vector<int32_t> lengths(table_count), offsets(table_count);
    size_t stride = 0;
    for (int t = 0; t < num_tables; ++t) {
        if (!read_table(in, &rows[size_t(t)], &offsets[size_t(t)])) return 0;
        lengths[size_t(t)] = int32_t(rows[size_t(t)].size());
        if (rows[size_t(t)].size() > stride) stride = rows[size_t(t)].size();
    }
    std::vector<int32_t> flat(stride * table_count, 0);
    for (int t = 0; t < num_tables; ++t)
        std::copy(rows[size_t(t)].begin(), rows[size_t(t)].end(), flat.begin() + ptrdiff_t(stride) * t);
    rans::CdfTables tables;
    std::string detail;
    const Status cst = rans::CdfTables::create(flat.data(), num_tables, int64_t(stride), lengths.data(),
                                               offsets.data(), &tables, &detail);
    if (cst != Status::kOk) {
        // Acceptable only for a table whose directly coded values [offset, offset + escape - 1]
        // leave int32 (no value can be coded with those symbols); anything else is a bug.
        bool out_of_range = false;
        for (size_t t = 0; t < table_count; ++t)
            out_of_range = out_of_range || int64_t(offsets[t]) + lengths[t] - 3 > kI32Max;
        if (cst == Status::kInvalidTable && out_of_range) return 0;
        fail("CdfTables::create rejects builder output:", detail);
    }
    REQUIRE(tables.num_tables() == num_tables);

    std::vector<int32_t> indexes(static_cast<size_t>(n));
    bool all_valid = true;
    for (int64_t i = 0; i < n; ++i) {
        int32_t index = 0;
        switch (index_mode) {
            case 0: index = int32_t(i % num_tables); break;
            case 1: index = pattern[i % pattern_size] % num_tables; break;
            case 2: index = num_tables - 1; break;
            default: {
                const uint8_t b = pattern[i % pattern_size];
                index = b >= 0xF0 ? int32_t(int8_t(b)) : b >= 0xE0 ? num_tables + (b & 15) : b % num_tables;
            }
        }
        all_valid = all_valid && index >= 0 && index < num_tables;
        indexes[size_t(i)] = index;
    }

    if (!round_trip) {
        const uint8_t* stream = data + in.consumed();
        const size_t stream_size = size - in.consumed();
        std::vector<int32_t> out(static_cast<size_t>(n));
        const Status st = rans::decode(tables, stream, stream_size, indexes.data(), n, out.data(), &detail);
        if (st == Status::kInvalidArgument) REQUIRE(!all_valid);
        if (st != Status::kOk) return 0;
        REQUIRE(all_valid);
        std::vector<uint8_t> again;
        const Status est = rans::encode(tables, out.data(), indexes.data(), n, &again, &detail);
        if (est != Status::kOk) fail("encode fails on decoded values:", detail);
        if (again.size() != stream_size || (stream_size > 0 && std::memcmp(again.data(), stream, stream_size) != 0)) {
            dump_values("decoded values", out);
            dump_bytes("input stream", stream, stream_size);
            dump_bytes("re-encoded  ", again.data(), again.size());
            fail("decoded stream is not canonical: encode(decode(s)) != s");
        }
        return 0;
    }

    std::vector<int32_t> values(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) values[size_t(i)] = read_value(in, tables, indexes[size_t(i)]);
    std::vector<uint8_t> stream;
    const Status est = rans::encode(tables, values.data(), indexes.data(), n, &stream, &detail);
    if (!all_valid) {
        REQUIRE(est == Status::kInvalidArgument);
        std::vector<int32_t> out(static_cast<size_t>(n));
        REQUIRE(rans::decode(tables, stream.data(), stream.size(), indexes.data(), n, out.data(), &detail) !=
                Status::kOk);
        return 0;
    }
    if (est != Status::kOk) fail("encode fails on valid indexes:", detail);
    REQUIRE(n > 0 || stream.empty());
    std::vector<int32_t> out(static_cast<size_t>(n), 0x5A5A5A5A);
    const Status dst = rans::decode(tables, stream.data(), stream.size(), indexes.data(), n, out.data(), &detail);
    if (dst != Status::kOk) {
        dump_values("values", values);
        fail("decode(encode(v)) fails:", detail);
    }
    if (out != values) {
        dump_values("values ", values);
        dump_values("decoded", out);
        fail("decode(encode(v)) != v");
    }
    if (n > 0) {
        // Dropping the last byte leaves the decoder short of input; an extra byte is left over.
        std::vector<int32_t> scratch(static_cast<size_t>(n));
        REQUIRE(stream.size() >= 4);
        REQUIRE(rans::decode(tables, stream.data(), stream.size() - 1, indexes.data(), n, scratch.data(),
                             &detail) != Status::kOk);
        std::vector<uint8_t> longer = stream;
        longer.push_back(0);
        REQUIRE(rans::decode(tables, longer.data(), longer.size(), indexes.data(), n, scratch.data(), &detail) !=
                Status::kOk);
    }
    return 0;
}
