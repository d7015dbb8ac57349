// libFuzzer target for the latent container and the packet layer (docs/fuzzing.md).
//
// The whole input is offered to parse_frame, to parse_packet (repeatedly, packet after
// packet) and to two PacketReaders: one fed the input in one piece, one fed it in a few
// chunks split at positions derived from the data. Nothing may crash, and:
//  * a frame that parses re-serialises (write_frame) to exactly the input bytes, its
//    sections lie back to back inside the input right after header_size bytes;
//  * a packet that parses has consumed == 28 + payload_size <= size and re-serialises
//    (write_packet) to exactly the bytes it consumed;
//  * every PacketReader event is self-consistent (payload size and CRC match the header),
//    the events account for every byte fed (packets + bad payloads + skipped + pending +
//    pending skipped), a run of skipped bytes is reported once (never two skipped-bytes
//    events in a row), a sequence gap comes right before the packet that revealed it, and
//    the event sequence does not depend on how the input was chunked.
// Payloads of delivered packets are also parsed as frames (frames travel in packets).
// Every check also runs on copies of the input whose CRCs were repaired (as a frame, and as a
// packet stream), so the fuzzer reaches the validation behind the CRCs.
// A violated property calls abort(), which libFuzzer reports as a crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "edgesdk/container.h"
#include "edgesdk/crc32c.h"
#include "edgesdk/status.h"

using namespace edgesdk;
using namespace edgesdk::container;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_container: property violated: %s\n", what);
    std::abort();
}

#define REQUIRE(cond)                \
    do {                             \
        if (!(cond)) fail(#cond);    \
    } while (0)

bool inside(const uint8_t* p, size_t n, const uint8_t* data, size_t size) {
    const uintptr_t b = reinterpret_cast<uintptr_t>(data), e = b + size, q = reinterpret_cast<uintptr_t>(p);
    if (n == 0) return p == nullptr || (q >= b && q <= e);
    return p != nullptr && q >= b && q <= e && n <= e - q;
}

// A parsed compact inter frame: P or B, payloads back to back up to the CRC, which holds, and
// writing it back gives the same bytes.
void check_compact_frame(const uint8_t* data, size_t size, const FrameView& view) {
    const FrameHeader& h = view.header;
    REQUIRE(h.frame_type == FrameType::kPredicted || h.frame_type == FrameType::kBidirectional);
    REQUIRE(h.width >= 1 && h.height >= 1 && h.width <= 0xFFFF && h.height <= 0xFFFF);
    REQUIRE(view.sections.size() >= 2 && view.sections.size() <= 4);
    REQUIRE(view.header_size == kCompactFixedHeaderSize + 4 * view.sections.size());
    const uint8_t* expect = data + view.header_size;
    for (const SectionView& s : view.sections) {
        REQUIRE(inside(s.data, s.size, data, size));
        if (s.size > 0) REQUIRE(s.data == expect);
        expect += s.size;
    }
    REQUIRE(expect + 4 == data + size);
    REQUIRE(crc32c(data, size - 4) == (uint32_t(expect[0]) | uint32_t(expect[1]) << 8 | uint32_t(expect[2]) << 16 |
                                       uint32_t(expect[3]) << 24));
    std::vector<uint8_t> again;
    std::string detail;
    const Status wst = write_compact_frame(h, view.sections, &again, &detail);
    if (wst != Status::kOk) {
        std::fprintf(stderr, "write_compact_frame refused a parsed frame: %s\n", detail.c_str());
        fail("write_compact_frame accepts every compact frame parse_frame accepts");
    }
    REQUIRE(again.size() == size);
    REQUIRE(std::memcmp(again.data(), data, size) == 0);
}

void check_frame(const uint8_t* data, size_t size) {
    FrameView view;
    std::string detail;
    const Status st = parse_frame(data, size, &view, &detail);
    if (st != Status::kOk) return;
    if (view.compact) {
        check_compact_frame(data, size, view);
        return;
    }
    const FrameHeader& h = view.header;
    REQUIRE(h.major_version == kFrameMajorVersion);
    REQUIRE(static_cast<uint8_t>(h.frame_type) <= kMaxFrameType);
    REQUIRE(h.width >= 1 && h.width <= kMaxDimension && h.height >= 1 && h.height <= kMaxDimension);
    REQUIRE(h.parameters.size() <= kMaxParameters && view.sections.size() <= kMaxSections);
    REQUIRE(view.header_size == kFrameFixedHeaderSize + kParameterSize * h.parameters.size() +
                                    kSectionEntrySize * view.sections.size() + 4);
    REQUIRE(view.header_size <= size);
    // Sections: inside the input, back to back from header_size to the end, CRCs as declared.
    const uint8_t* expect = data + view.header_size;
    for (const SectionView& s : view.sections) {
        REQUIRE(inside(s.data, s.size, data, size));
        if (s.size > 0) REQUIRE(s.data == expect);
        expect += s.size;
        REQUIRE(crc32c(s.data, s.size) == s.crc);
    }
    REQUIRE(expect == data + size);
    // Canonical: writing the parsed frame back gives the same bytes.
    std::vector<uint8_t> again;
    const Status wst = write_frame(h, view.sections, &again, &detail);
    if (wst != Status::kOk) {
        std::fprintf(stderr, "write_frame refused a parsed frame: %s (%s)\n", status_name(wst), detail.c_str());
        fail("write_frame accepts every frame parse_frame accepts");
    }
    REQUIRE(again.size() == size);
    REQUIRE(std::memcmp(again.data(), data, size) == 0);
}

// Parses packets back to back from the start of the input while they parse.
void check_packets(const uint8_t* data, size_t size, uint32_t max_payload) {
    size_t position = 0;
    for (int count = 0; count < 1000 && position <= size; ++count) {
        PacketHeader h;
        const uint8_t* payload = nullptr;
        size_t consumed = 12345;
        std::string detail;
        const Status st = parse_packet(data + position, size - position, max_payload, &h, &payload, &consumed,
                                       &detail);
        REQUIRE(consumed <= size - position);
        if (st == Status::kChecksumMismatch && consumed > 0) {
            // What PacketReader relies on to drop a damaged payload and resynchronise after it.
            REQUIRE(consumed == kPacketHeaderSize + h.payload_size);
            REQUIRE(payload == data + position + kPacketHeaderSize);
            REQUIRE(crc32c(payload, h.payload_size) != h.payload_crc);
        }
        if (st != Status::kOk) return;
        REQUIRE(h.payload_size <= max_payload);
        REQUIRE(consumed == kPacketHeaderSize + h.payload_size);
        REQUIRE(payload == data + position + kPacketHeaderSize);
        REQUIRE((h.flags & ~kPacketKnownFlags) == 0);
        std::vector<uint8_t> again;
        REQUIRE(write_packet(h, payload, h.payload_size, &again, &detail) == Status::kOk);
        REQUIRE(again.size() == consumed);
        REQUIRE(std::memcmp(again.data(), data + position, consumed) == 0);
        check_frame(payload, h.payload_size);
        position += consumed;
        if (position == size) return;
    }
}

using Event = PacketReader::Event;

// Drains every event, checking each one and appending it to *events.
void drain(PacketReader& reader, uint32_t max_payload, std::vector<Event>* events, uint64_t* accounted) {
    Event e;
    for (int guard = 0; reader.next(&e); ++guard) {
        REQUIRE(guard < (1 << 22));
        switch (e.kind) {
            case Event::Kind::kPacket:
                REQUIRE(e.payload.size() == e.header.payload_size);
                REQUIRE(e.header.payload_size <= max_payload);
                REQUIRE(crc32c(e.payload.data(), e.payload.size()) == e.header.payload_crc);
                REQUIRE((e.header.flags & ~kPacketKnownFlags) == 0);
                *accounted += kPacketHeaderSize + e.payload.size();
                break;
            case Event::Kind::kBadPayload:
                REQUIRE(e.payload.empty());
                REQUIRE(e.header.payload_size <= max_payload);
                *accounted += kPacketHeaderSize + uint64_t(e.header.payload_size);
                break;
            case Event::Kind::kSkippedBytes:
                REQUIRE(e.count > 0);
                REQUIRE(e.payload.empty());
                // A run of skipped bytes is reported once, whole.
                REQUIRE(events->empty() || events->back().kind != Event::Kind::kSkippedBytes);
                *accounted += e.count;
                break;
            case Event::Kind::kSequenceGap:
                REQUIRE(e.payload.empty());
                break;
        }
        events->push_back(std::move(e));
        e = Event{};
    }
}

bool same_header(const PacketHeader& a, const PacketHeader& b) {
    return a.flags == b.flags && a.stream_id == b.stream_id && a.sequence == b.sequence &&
           a.payload_size == b.payload_size && a.payload_crc == b.payload_crc;
}

void check_reader(const uint8_t* data, size_t size, uint32_t max_payload, uint32_t seed) {
    // Reference: the whole input in one feed.
    PacketReader whole(max_payload);
    std::vector<Event> expected;
    uint64_t accounted = 0;
    whole.feed(data, size);
    drain(whole, max_payload, &expected, &accounted);
    REQUIRE(accounted + whole.pending_bytes() + whole.pending_skipped_bytes() == size);
    // What is left is at most one incomplete packet.
    REQUIRE(whole.pending_bytes() < kPacketHeaderSize + uint64_t(max_payload));
    // A gap is reported right before the packet that revealed it.
    for (size_t i = 0; i < expected.size(); ++i) {
        if (expected[i].kind != Event::Kind::kSequenceGap) continue;
        REQUIRE(i + 1 < expected.size() && expected[i + 1].kind == Event::Kind::kPacket);
        REQUIRE(same_header(expected[i].header, expected[i + 1].header));
    }
    for (const Event& e : expected)
        if (e.kind == Event::Kind::kPacket) check_frame(e.payload.data(), e.payload.size());

    // The same bytes in 1..4 chunks (possibly empty ones), draining after every feed: the same
    // events, the skipped-bytes counts included.
    size_t cuts[5];
    const int pieces = 1 + int(seed & 3);
    uint32_t s = seed;
    for (int k = 0; k < pieces - 1; ++k) {
        s = s * 1664525u + 1013904223u;
        cuts[k] = size == 0 ? 0 : (s >> 8) % (size + 1);
    }
    cuts[pieces - 1] = size;
    std::sort(cuts, cuts + pieces);
    PacketReader chunked(max_payload);
    std::vector<Event> got;
    uint64_t chunked_accounted = 0;
    size_t begin = 0;
    for (int k = 0; k < pieces; ++k) {
        chunked.feed(data + begin, cuts[k] - begin);
        drain(chunked, max_payload, &got, &chunked_accounted);
        REQUIRE(chunked_accounted + chunked.pending_bytes() + chunked.pending_skipped_bytes() == cuts[k]);
        begin = cuts[k];
    }
    REQUIRE(chunked.pending_bytes() == whole.pending_bytes());
    REQUIRE(chunked.pending_skipped_bytes() == whole.pending_skipped_bytes());
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
        REQUIRE(got[i].kind == expected[i].kind);
        REQUIRE(got[i].count == expected[i].count);
        REQUIRE(same_header(got[i].header, expected[i].header));
        REQUIRE(got[i].payload == expected[i].payload);
    }
}

uint32_t load_u32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
void store_u32(uint8_t* p, uint32_t v) {
    for (int b = 0; b < 4; ++b) p[b] = uint8_t(v >> (8 * b));
}

// CRC32C guards every field, and a mutating fuzzer almost never produces a matching CRC, so
// the checks behind the CRCs would stay unexplored. These repair the CRCs of a mutated input:
// section CRCs (where the declared sizes fit) and then the header CRC of a frame...
bool repair_frame_crcs(std::vector<uint8_t>& b) {
    if (b.size() < kFrameFixedHeaderSize || std::memcmp(b.data(), kFrameMagic, 4) != 0) return false;
    const size_t parameters = size_t(b[48]) | size_t(b[49]) << 8;
    const size_t sections = size_t(b[50]) | size_t(b[51]) << 8;
    if (parameters > kMaxParameters || sections > kMaxSections) return false;
    const size_t header = kFrameFixedHeaderSize + kParameterSize * parameters + kSectionEntrySize * sections + 4;
    if (b.size() < header) return false;
    size_t payload = header;
    for (size_t i = 0; i < sections; ++i) {
        uint8_t* entry = b.data() + kFrameFixedHeaderSize + kParameterSize * parameters + kSectionEntrySize * i;
        const uint32_t n = load_u32(entry + 4);
        if (n > b.size() - payload) break;
        store_u32(entry + 8, crc32c(b.data() + payload, n));
        payload += n;
    }
    store_u32(b.data() + header - 4, crc32c(b.data(), header - 4));
    return true;
}

// ... and, for every 'EP' that starts a header, its payload CRC (where the payload fits and
// `payloads` is set) and its header CRC.
bool repair_packet_crcs(std::vector<uint8_t>& b, bool payloads) {
    bool changed = false;
    size_t p = 0;
    while (b.size() >= kPacketHeaderSize && p <= b.size() - kPacketHeaderSize) {
        if (b[p] != kPacketSync[0] || b[p + 1] != kPacketSync[1]) {
            ++p;
            continue;
        }
        uint8_t* h = b.data() + p;
        const uint32_t n = load_u32(h + 16);
        const bool fits = n <= b.size() - p - kPacketHeaderSize;
        if (fits && payloads) store_u32(h + 20, crc32c(h + kPacketHeaderSize, n));
        store_u32(h + 24, crc32c(h, kPacketHeaderSize - 4));
        changed = true;
        p += fits ? kPacketHeaderSize + n : 1;
    }
    return changed;
}

void check_all(const uint8_t* data, size_t size, uint32_t h) {
    check_frame(data, size);
    // Packet limits: the default, and a small one derived from the data so the limit path is reached.
    const uint32_t small_max = (h >> 4) % 300;
    check_packets(data, size, kDefaultMaxPayload);
    check_packets(data, size, small_max);
    check_reader(data, size, kDefaultMaxPayload, h);
    check_reader(data, size, (h & 0x10000) ? small_max : kDefaultMaxPayload, h >> 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const uint32_t h = crc32c(data, size);
    check_all(data, size, h);
    // The same input with its CRCs repaired, as a frame and as a packet stream.
    std::vector<uint8_t> repaired(data, data + size);
    if (repair_frame_crcs(repaired)) check_all(repaired.data(), repaired.size(), h);
    repaired.assign(data, data + size);
    if (repair_packet_crcs(repaired, (h & 0x20000) == 0)) check_all(repaired.data(), repaired.size(), h);
    return 0;
}
