#include <algorithm>
// Bit-exactness against the committed golden vectors (made on x86-64; also run under qemu-aarch64).
#include <map>
#include <string>
#include <vector>

#include "check.h"
#include "edgesdk/cdf.h"
#include "edgesdk/container.h"
#include "edgesdk/rans.h"
#include "golden_reader.h"

using edgesdk::Status;
using namespace edgesdk;
using edgesdk_test::GoldenArray;

namespace {

std::map<std::string, GoldenArray> load(const char* name) {
    std::map<std::string, GoldenArray> arrays;
    const std::string path = edgesdk_test::golden_dir() + "/" + name;
    if (!edgesdk_test::read_golden(path, &arrays)) edgesdk_test::record_failure(__FILE__, __LINE__, "cannot read " + path);
    return arrays;
}

void check_rans_vector(const char* name) {
    auto v = load(name);
    if (v.empty()) return;
    const std::vector<int32_t>& lengths = v["cdf_lengths"].i32;
    const std::vector<int32_t>& values = v["cdf_values"].i32;
    int32_t stride = 0;
    for (int32_t n : lengths) stride = std::max(stride, n);
    std::vector<int32_t> padded(lengths.size() * size_t(stride), 0);
    size_t pos = 0;
    for (size_t t = 0; t < lengths.size(); ++t) {
        for (int32_t k = 0; k < lengths[t]; ++k) padded[t * size_t(stride) + size_t(k)] = values[pos++];
    }
    rans::CdfTables tables;
    CHECK_STATUS(rans::CdfTables::create(padded.data(), int64_t(lengths.size()), stride, lengths.data(),
                                         v["offsets"].i32.data(), &tables, nullptr),
                 Status::kOk);
    if (v.count("scales")) {
        // The table builder itself must be bit-exact across platforms.
        const double tail_mass = v["tail_mass"].f64.at(0);
        size_t at = 0;
        for (size_t t = 0; t < v["scales"].f64.size(); ++t) {
            std::vector<int32_t> cdf;
            int32_t offset = 0;
            CHECK_STATUS(cdf::gaussian_cdf(v["scales"].f64[t], tail_mass, &cdf, &offset, nullptr), Status::kOk);
            CHECK(offset == v["offsets"].i32[t]);
            CHECK(std::vector<int32_t>(values.begin() + long(at), values.begin() + long(at + cdf.size())) == cdf);
            at += cdf.size();
        }
    }
    const std::vector<int32_t>& indexes = v["indexes"].i32;
    const std::vector<int32_t>& expected = v["values"].i32;
    const std::vector<uint8_t>& stream = v["stream"].u8;
    std::vector<uint8_t> encoded;
    CHECK_STATUS(rans::encode(tables, expected.data(), indexes.data(), int64_t(expected.size()), &encoded, nullptr),
                 Status::kOk);
    CHECK(encoded == stream);
    std::vector<int32_t> decoded(expected.size());
    CHECK_STATUS(rans::decode(tables, stream.data(), stream.size(), indexes.data(), int64_t(indexes.size()),
                              decoded.data(), nullptr),
                 Status::kOk);
    CHECK(decoded == expected);
}

}  // namespace

TEST_CASE(golden_rans_fixed) { check_rans_vector("rans_fixed.egv"); }
TEST_CASE(golden_rans_gaussian) { check_rans_vector("rans_gaussian.egv"); }
TEST_CASE(golden_rans_tiny) { check_rans_vector("rans_tiny.egv"); }

TEST_CASE(golden_frame_and_packets) {
    auto frame = load("frame.egv");
    const std::vector<uint8_t>& bytes = frame["frame"].u8;
    container::FrameView view;
    CHECK_STATUS(container::parse_frame(bytes.data(), bytes.size(), &view, nullptr), Status::kOk);
    CHECK(view.header.width == 768 && view.header.height == 512 && view.sections.size() == 2);
    std::vector<uint8_t> rewritten;
    CHECK_STATUS(container::write_frame(view.header, view.sections, &rewritten, nullptr), Status::kOk);
    CHECK(rewritten == bytes);

    auto packets = load("packets.egv");
    const std::vector<uint8_t>& stream = packets["packets"].u8;
    container::PacketReader reader;
    reader.feed(stream.data(), stream.size());
    container::PacketReader::Event e;
    std::vector<uint8_t> rewritten_stream;
    int count = 0;
    while (reader.next(&e)) {
        CHECK(e.kind == container::PacketReader::Event::Kind::kPacket);
        CHECK(e.header.sequence == uint64_t(count));
        CHECK_STATUS(container::write_packet(e.header, e.payload.data(), e.payload.size(), &rewritten_stream, nullptr),
                     Status::kOk);
        if (count == 0) CHECK(e.payload == bytes);
        ++count;
    }
    CHECK(count == 3);
    CHECK(rewritten_stream == stream);
}
