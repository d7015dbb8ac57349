#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "edgesdk/container.h"
#include "edgesdk/crc32c.h"

using edgesdk::Status;
using namespace edgesdk::container;

namespace {

std::vector<uint8_t> sample_frame() {
    FrameHeader h;
    h.frame_type = FrameType::kPredicted;
    h.quality = 5;
    for (size_t i = 0; i < h.model_id.size(); ++i) h.model_id[i] = uint8_t(i * 7);
    h.width = 1920;
    h.height = 1080;
    h.parameters = {{1, 192}, {6, -3}};
    static const uint8_t z[] = {1, 2, 3, 4, 5};
    static const uint8_t y[] = {9, 8, 7};
    std::vector<uint8_t> out;
    CHECK_STATUS(write_frame(h, {{1, z, 5, 0}, {2, y, 3, 0}, {4, nullptr, 0, 0}}, &out, nullptr), Status::kOk);
    return out;
}

}  // namespace

TEST_CASE(frame_round_trip) {
    const std::vector<uint8_t> bytes = sample_frame();
    FrameView view;
    CHECK_STATUS(parse_frame(bytes.data(), bytes.size(), &view, nullptr), Status::kOk);
    CHECK(view.header.frame_type == FrameType::kPredicted);
    CHECK(view.header.width == 1920 && view.header.height == 1080 && view.header.quality == 5);
    CHECK(view.header.parameters.size() == 2 && view.header.parameters[1].value == -3);
    CHECK(view.sections.size() == 3);
    CHECK(view.sections[0].size == 5 && view.sections[0].data[4] == 5);
    CHECK(view.sections[1].kind == 2 && view.sections[1].data[0] == 9);
    CHECK(view.sections[2].size == 0);
    CHECK(bytes.size() == kFrameFixedHeaderSize + 2 * kParameterSize + 3 * kSectionEntrySize + 4 + 8);
    std::vector<uint8_t> rewritten;
    CHECK_STATUS(write_frame(view.header, view.sections, &rewritten, nullptr), Status::kOk);
    CHECK(rewritten == bytes);
}

namespace {

// Every cut of ``bytes`` is truncation, every single bit flip is refused, a byte more is corruption.
void check_cuts_and_flips(const std::vector<uint8_t>& bytes) {
    FrameView view;
    for (size_t cut = 0; cut < bytes.size(); ++cut)
        CHECK_STATUS(parse_frame(bytes.data(), cut, &view, nullptr), Status::kTruncated);
    for (size_t pos = 0; pos < bytes.size(); ++pos) {
        for (int bit = 0; bit < 8; ++bit) {
            std::vector<uint8_t> damaged = bytes;
            damaged[pos] ^= uint8_t(1u << bit);
            const Status st = parse_frame(damaged.data(), damaged.size(), &view, nullptr);
            CHECK(st != Status::kOk);
        }
    }
    std::vector<uint8_t> longer = bytes;
    longer.push_back(0);
    CHECK_STATUS(parse_frame(longer.data(), longer.size(), &view, nullptr), Status::kCorrupted);
}

}  // namespace

TEST_CASE(frame_every_truncation_and_bit_flip_is_detected) { check_cuts_and_flips(sample_frame()); }

TEST_CASE(frame_version_magic_and_limits) {
    std::vector<uint8_t> bytes = sample_frame();
    FrameView view;
    std::vector<uint8_t> other = bytes;
    other[0] = 'X';
    CHECK_STATUS(parse_frame(other.data(), other.size(), &view, nullptr), Status::kBadMagic);
    other = bytes;
    other[4] = 2;  // next major version
    CHECK_STATUS(parse_frame(other.data(), other.size(), &view, nullptr), Status::kUnsupportedVersion);

    // A newer minor version of the same major is readable (fields only ever added as parameters/sections).
    FrameHeader h;
    h.minor_version = 9;
    h.width = h.height = 16;
    std::vector<uint8_t> newer;
    CHECK_STATUS(write_frame(h, {}, &newer, nullptr), Status::kOk);
    CHECK_STATUS(parse_frame(newer.data(), newer.size(), &view, nullptr), Status::kOk);
    CHECK(view.header.minor_version == 9);

    // Declared counts above the limits are refused before anything is sized by them.
    other = bytes;
    other[50] = 0xFF;
    other[51] = 0xFF;
    CHECK_STATUS(parse_frame(other.data(), other.size(), &view, nullptr), Status::kLimitExceeded);

    h.width = 0;
    CHECK_STATUS(write_frame(h, {}, &newer, nullptr), Status::kLimitExceeded);
    h.width = 16;
    h.parameters = {{3, 1}, {3, 2}};
    CHECK_STATUS(write_frame(h, {}, &newer, nullptr), Status::kInvalidArgument);
}

TEST_CASE(packet_round_trip_and_damage) {
    const uint8_t payload[] = {'l', 'a', 't', 'e', 'n', 't'};
    PacketHeader h;
    h.flags = kPacketFlagKeyframe;
    h.stream_id = 42;
    h.sequence = (1ull << 40) + 3;
    std::vector<uint8_t> bytes;
    CHECK_STATUS(write_packet(h, payload, sizeof payload, &bytes, nullptr), Status::kOk);
    CHECK(bytes.size() == kPacketHeaderSize + sizeof payload);
    PacketHeader parsed;
    const uint8_t* data = nullptr;
    size_t consumed = 0;
    CHECK_STATUS(parse_packet(bytes.data(), bytes.size(), kDefaultMaxPayload, &parsed, &data, &consumed, nullptr),
                 Status::kOk);
    CHECK(consumed == bytes.size() && parsed.sequence == h.sequence && parsed.stream_id == 42);
    CHECK(std::memcmp(data, payload, sizeof payload) == 0);
    for (size_t cut = 0; cut < bytes.size(); ++cut)
        CHECK_STATUS(parse_packet(bytes.data(), cut, kDefaultMaxPayload, &parsed, &data, &consumed, nullptr),
                     Status::kTruncated);
    CHECK_STATUS(parse_packet(bytes.data(), bytes.size(), 5, &parsed, &data, &consumed, nullptr),
                 Status::kLimitExceeded);
    std::vector<uint8_t> damaged = bytes;
    damaged.back() ^= 0x10;
    CHECK_STATUS(parse_packet(damaged.data(), damaged.size(), kDefaultMaxPayload, &parsed, &data, &consumed, nullptr),
                 Status::kChecksumMismatch);
    CHECK(consumed == bytes.size());  // payload damage: the packet can be skipped whole
    damaged = bytes;
    damaged[10] ^= 0x01;
    CHECK_STATUS(parse_packet(damaged.data(), damaged.size(), kDefaultMaxPayload, &parsed, &data, &consumed, nullptr),
                 Status::kChecksumMismatch);
    CHECK(consumed == 0);
}

TEST_CASE(packet_reader_resynchronises_and_reports_loss) {
    std::vector<uint8_t> stream;
    const uint8_t payload[100] = {};
    for (uint64_t seq = 0; seq < 6; ++seq) {
        PacketHeader h;
        h.stream_id = 1;
        h.sequence = seq;
        CHECK_STATUS(write_packet(h, payload, sizeof payload, &stream, nullptr), Status::kOk);
    }
    const size_t packet = kPacketHeaderSize + sizeof payload;
    // Damage the header of packet 1, drop packet 3, prepend junk.
    stream[packet + 5] ^= 0xFF;
    stream.erase(stream.begin() + 3 * packet, stream.begin() + 4 * packet);
    stream.insert(stream.begin(), {'E', 'x', 'E', 'P', 0});

    PacketReader reader;
    int packets = 0, gaps = 0;
    uint64_t skipped = 0, missing = 0;
    // Feed in awkward chunk sizes: the reader must not depend on chunk boundaries.
    for (size_t pos = 0; pos < stream.size(); pos += 37) {
        reader.feed(stream.data() + pos, std::min<size_t>(37, stream.size() - pos));
        PacketReader::Event e;
        while (reader.next(&e)) {
            if (e.kind == PacketReader::Event::Kind::kPacket) ++packets;
            if (e.kind == PacketReader::Event::Kind::kSkippedBytes) skipped += e.count;
            if (e.kind == PacketReader::Event::Kind::kSequenceGap) {
                ++gaps;
                missing += e.count;
            }
        }
    }
    CHECK(packets == 4);          // 0, 2, 4, 5
    CHECK(skipped == 5 + packet);  // junk + the packet with the damaged header
    CHECK(gaps == 2 && missing == 2);
    CHECK(reader.pending_bytes() == 0);
}

// A sample whose every section carries bytes (sample_frame() ends with an empty section, so a
// parser that skipped the last section's CRC passed every test above): each payload byte of
// each section, flipped bit by bit, must give kChecksumMismatch naming that section, and the
// parsed views must point at exactly each section's bytes.
TEST_CASE(frame_every_section_carries_bytes_and_is_checked) {
    FrameHeader h;
    h.frame_type = FrameType::kKey;
    h.quality = 3;
    h.width = 33;
    h.height = 17;
    h.parameters = {{1, 7}};
    static const uint8_t a[] = {0xA1};
    static const uint8_t b[] = {0xB1, 0xB2};
    static const uint8_t c[] = {0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7};
    static const uint8_t d[] = {0xD1, 0xD2, 0xD3};
    const std::vector<SectionView> sections = {{1, a, 1, 0}, {2, b, 2, 0}, {4, c, 7, 0}, {5, d, 3, 0}};
    std::vector<uint8_t> bytes;
    CHECK_STATUS(write_frame(h, sections, &bytes, nullptr), Status::kOk);
    FrameView view;
    CHECK_STATUS(parse_frame(bytes.data(), bytes.size(), &view, nullptr), Status::kOk);
    CHECK(view.sections.size() == sections.size());
    size_t payload_start = bytes.size();
    for (const SectionView& s : sections) payload_start -= s.size;
    CHECK(view.header_size == payload_start);
    for (size_t i = 0; i < sections.size() && i < view.sections.size(); ++i) {
        CHECK(view.sections[i].kind == sections[i].kind && view.sections[i].size == sections[i].size);
        CHECK(std::equal(sections[i].data, sections[i].data + sections[i].size, view.sections[i].data));
    }
    size_t at = payload_start;
    for (size_t i = 0; i < sections.size(); ++i) {
        for (size_t k = 0; k < sections[i].size; ++k, ++at) {
            for (int bit = 0; bit < 8; ++bit) {
                std::vector<uint8_t> damaged = bytes;
                damaged[at] ^= uint8_t(1u << bit);
                std::string detail;
                CHECK_STATUS(parse_frame(damaged.data(), damaged.size(), &view, &detail), Status::kChecksumMismatch);
                CHECK(detail.find("section " + std::to_string(i) + " ") != std::string::npos);
            }
        }
    }
    CHECK(at == bytes.size());
    // Swapping two sections' bytes (same total size) is damage too.
    std::vector<uint8_t> swapped = bytes;
    std::swap(swapped[payload_start], swapped[payload_start + 1]);
    CHECK_STATUS(parse_frame(swapped.data(), swapped.size(), &view, nullptr), Status::kChecksumMismatch);
}

namespace {

std::vector<uint8_t> sample_compact_frame(FrameType type, bool copy_blocks) {
    FrameHeader h;
    h.frame_type = type;
    h.quality = 3;
    h.width = 352;
    h.height = 288;
    h.parameters = {{kKeyDisplayIndex, 70}, {kKeyGopIndex, 6}, {kKeyReferenceDistance, 2}, {kKeyResidualStep, 16}};
    if (type == FrameType::kBidirectional) h.parameters.push_back({kKeyForwardReferenceDistance, 1});
    static const uint8_t motion[] = {3, 5, 0};
    static const uint8_t model[] = {0, 1, 2, 3, 4};
    static const uint8_t latent[] = {9, 8, 7, 6};
    static const uint8_t copies[] = {1, 0xAA};
    std::vector<SectionView> sections;
    if (type == FrameType::kBidirectional) sections.push_back({kKindMotion, motion, 3, 0});
    sections.push_back({kKindResidualModel, model, 5, 0});
    sections.push_back({kKindLatent, latent, 4, 0});
    if (copy_blocks) sections.push_back({kKindCopyBlocks, copies, 2, 0});
    std::vector<uint8_t> out;
    CHECK_STATUS(write_compact_frame(h, sections, &out, nullptr), Status::kOk);
    return out;
}

// Rewrites a compact frame's CRC32C (its last 4 bytes) after an edit, so the parse rules behind it are reached.
void reseal(std::vector<uint8_t>& frame) {
    const uint32_t crc = edgesdk::crc32c(frame.data(), frame.size() - 4);
    for (int i = 0; i < 4; ++i) frame[frame.size() - 4 + i] = uint8_t(crc >> (8 * i));
}

}  // namespace

TEST_CASE(compact_frame_round_trip_and_implied_fields) {
    const std::vector<uint8_t> p = sample_compact_frame(FrameType::kPredicted, true);
    CHECK(p.size() == kCompactFixedHeaderSize + 3 * 4 + 5 + 4 + 2 + 4);
    FrameView view;
    CHECK_STATUS(parse_frame(p.data(), p.size(), &view, nullptr), Status::kOk);
    CHECK(view.compact && view.header.frame_type == FrameType::kPredicted && view.header.quality == 3);
    CHECK(view.header.width == 352 && view.header.height == 288);
    CHECK(view.header.parameters.size() == 4 && view.header.parameters[0].key == kKeyDisplayIndex &&
          view.header.parameters[0].value == 70 && view.header.parameters[3].value == 16);
    CHECK(view.sections.size() == 3 && view.sections[2].kind == kKindCopyBlocks && view.sections[2].data[1] == 0xAA);
    std::vector<uint8_t> rewritten;
    CHECK_STATUS(write_compact_frame(view.header, view.sections, &rewritten, nullptr), Status::kOk);
    CHECK(rewritten == p);
    const std::vector<uint8_t> b = sample_compact_frame(FrameType::kBidirectional, false);
    CHECK_STATUS(parse_frame(b.data(), b.size(), &view, nullptr), Status::kOk);
    CHECK(view.sections.size() == 3 && view.sections[0].kind == kKindMotion && view.sections[2].kind == kKindLatent);
    CHECK(view.header.parameters.size() == 5 && view.header.parameters[3].key == kKeyForwardReferenceDistance);
}

// A P frame whose residual travels in RESIDUAL_ROI: flag bit 2 on the wire, kind 9 in the
// latent's slot when parsed, and a frame with both LATENT and RESIDUAL_ROI cannot be written.
TEST_CASE(compact_frame_residual_roi_takes_the_latent_slot) {
    FrameHeader h;
    h.frame_type = FrameType::kPredicted;
    h.width = 64, h.height = 48;
    h.parameters = {{kKeyDisplayIndex, 2}, {kKeyGopIndex, 2}, {kKeyReferenceDistance, 1}, {kKeyResidualStep, 16}};
    static const uint8_t model[] = {7}, roi[] = {1, 2, 3}, copies[] = {0xAA};
    std::vector<uint8_t> out;
    CHECK_STATUS(write_compact_frame(h, {{kKindResidualModel, model, 1, 0}, {kKindResidualRoi, roi, 3, 0},
                                         {kKindCopyBlocks, copies, 1, 0}}, &out, nullptr), Status::kOk);
    CHECK(out[6] == (kCompactFlagResidualRoi | kCompactFlagCopyBlocks));
    FrameView view;
    CHECK_STATUS(parse_frame(out.data(), out.size(), &view, nullptr), Status::kOk);
    CHECK(view.sections.size() == 3 && view.sections[1].kind == kKindResidualRoi && view.sections[1].size == 3 &&
          view.sections[1].data[2] == 3 && view.sections[2].kind == kKindCopyBlocks);
    std::vector<uint8_t> rewritten;
    CHECK_STATUS(write_compact_frame(view.header, view.sections, &rewritten, nullptr), Status::kOk);
    CHECK(rewritten == out);
    check_cuts_and_flips(out);
    CHECK_STATUS(write_compact_frame(h, {{kKindResidualModel, model, 1, 0}, {kKindLatent, model, 1, 0},
                                         {kKindResidualRoi, roi, 3, 0}}, &out, nullptr), Status::kInvalidArgument);
}

// A B frame shown as its interpolation: MOTION alone, flag bit 3, one section length. The flag
// on a P frame, or beside the copy or ROI flags, is refused even under a valid CRC.
TEST_CASE(compact_frame_interpolation_only_b_frame) {
    FrameHeader h;
    h.frame_type = FrameType::kBidirectional;
    h.width = 64, h.height = 48;
    h.parameters = {{kKeyDisplayIndex, 2}, {kKeyGopIndex, 2}, {kKeyReferenceDistance, 1},
                    {kKeyForwardReferenceDistance, 1}, {kKeyResidualStep, 32}};
    static const uint8_t motion[] = {3, 5, 0};
    std::vector<uint8_t> out;
    CHECK_STATUS(write_compact_frame(h, {{kKindMotion, motion, 3, 0}}, &out, nullptr), Status::kOk);
    CHECK(out[6] == kCompactFlagInterpolationOnly && out.size() == kCompactFixedHeaderSize + 4 + 3 + 4);
    FrameView view;
    CHECK_STATUS(parse_frame(out.data(), out.size(), &view, nullptr), Status::kOk);
    CHECK(view.sections.size() == 1 && view.sections[0].kind == kKindMotion && view.sections[0].size == 3);
    std::vector<uint8_t> rewritten;
    CHECK_STATUS(write_compact_frame(view.header, view.sections, &rewritten, nullptr), Status::kOk);
    CHECK(rewritten == out);
    check_cuts_and_flips(out);
    for (uint8_t flags : {uint8_t(kCompactFlagInterpolationOnly | kCompactFlagCopyBlocks),
                          uint8_t(kCompactFlagInterpolationOnly | kCompactFlagResidualRoi)}) {
        std::vector<uint8_t> bad = out;
        bad[6] = flags;
        reseal(bad);
        CHECK_STATUS(parse_frame(bad.data(), bad.size(), &view, nullptr), Status::kCorrupted);
    }
    h.frame_type = FrameType::kPredicted;  // a P frame has no motion to show
    h.parameters = {{kKeyDisplayIndex, 2}, {kKeyGopIndex, 2}, {kKeyReferenceDistance, 1}, {kKeyResidualStep, 32}};
    CHECK_STATUS(write_compact_frame(h, {{kKindMotion, motion, 3, 0}}, &out, nullptr), Status::kInvalidArgument);
    std::vector<uint8_t> p_frame = sample_compact_frame(FrameType::kPredicted, false);
    p_frame[6] = kCompactFlagInterpolationOnly;
    reseal(p_frame);
    CHECK_STATUS(parse_frame(p_frame.data(), p_frame.size(), &view, nullptr), Status::kCorrupted);
}

// A motion-compensated P frame: flag bit 4, MOTION before the residual's sections. The flag on a
// B frame or beside latent prediction is refused even under a valid CRC; the writer refuses
// motion with latent prediction (the reference's latent cannot be moved).
TEST_CASE(compact_frame_motion_compensated_p_frame) {
    FrameHeader h;
    h.frame_type = FrameType::kPredicted;
    h.width = 64, h.height = 48;
    h.parameters = {{kKeyDisplayIndex, 9}, {kKeyGopIndex, 9}, {kKeyReferenceDistance, 9}, {kKeyResidualStep, 32}};
    static const uint8_t motion[] = {1, 5, 0}, model[] = {7}, latent[] = {4, 4}, copies[] = {0x55};
    std::vector<uint8_t> out;
    CHECK_STATUS(write_compact_frame(h, {{kKindMotion, motion, 3, 0}, {kKindResidualModel, model, 1, 0},
                                         {kKindLatent, latent, 2, 0}, {kKindCopyBlocks, copies, 1, 0}}, &out, nullptr),
                 Status::kOk);
    CHECK(out[6] == (kCompactFlagMotion | kCompactFlagCopyBlocks) &&
          out.size() == kCompactFixedHeaderSize + 4 * 4 + 3 + 1 + 2 + 1 + 4);
    FrameView view;
    CHECK_STATUS(parse_frame(out.data(), out.size(), &view, nullptr), Status::kOk);
    CHECK(view.sections.size() == 4 && view.sections[0].kind == kKindMotion && view.sections[0].size == 3 &&
          view.sections[1].kind == kKindResidualModel && view.sections[2].kind == kKindLatent &&
          view.sections[3].kind == kKindCopyBlocks && view.header.parameters.size() == 4);
    std::vector<uint8_t> rewritten;
    CHECK_STATUS(write_compact_frame(view.header, view.sections, &rewritten, nullptr), Status::kOk);
    CHECK(rewritten == out);
    check_cuts_and_flips(out);
    std::vector<uint8_t> bad = out;
    bad[6] = kCompactFlagMotion | kCompactFlagCopyBlocks | kCompactFlagLatentPrediction;
    reseal(bad);
    CHECK_STATUS(parse_frame(bad.data(), bad.size(), &view, nullptr), Status::kCorrupted);
    std::vector<uint8_t> b_frame = sample_compact_frame(FrameType::kBidirectional, false);
    b_frame[6] = kCompactFlagMotion;
    reseal(b_frame);
    CHECK_STATUS(parse_frame(b_frame.data(), b_frame.size(), &view, nullptr), Status::kCorrupted);
    h.parameters.push_back({kKeyLatentPrediction, 1});
    CHECK_STATUS(write_compact_frame(h, {{kKindMotion, motion, 3, 0}, {kKindResidualModel, model, 1, 0},
                                         {kKindLatent, latent, 2, 0}}, &out, nullptr), Status::kInvalidArgument);
}

TEST_CASE(compact_frame_every_truncation_and_bit_flip_is_detected) {
    for (FrameType type : {FrameType::kPredicted, FrameType::kBidirectional})
        check_cuts_and_flips(sample_compact_frame(type, true));
}

TEST_CASE(compact_frame_writer_refuses_what_it_cannot_carry) {
    FrameHeader h;
    h.frame_type = FrameType::kKey;
    h.width = h.height = 16;
    std::vector<uint8_t> out;
    CHECK_STATUS(write_compact_frame(h, {}, &out, nullptr), Status::kInvalidArgument);  // keyframes are never compact
    h.frame_type = FrameType::kPredicted;
    h.parameters = {{kKeyDisplayIndex, 1}, {kKeyGopIndex, 1}, {kKeyReferenceDistance, 1}, {kKeyResidualStep, 16}};
    static const uint8_t bytes[] = {0};
    CHECK_STATUS(write_compact_frame(h, {{kKindResidualModel, bytes, 1, 0}, {kKindLatent, bytes, 1, 0}}, &out, nullptr),
                 Status::kOk);
    CHECK_STATUS(write_compact_frame(h, {{kKindLatent, bytes, 1, 0}}, &out, nullptr), Status::kInvalidArgument);
    h.parameters.push_back({14, 0});  // a parameter the layout has no room for
    CHECK_STATUS(write_compact_frame(h, {{kKindResidualModel, bytes, 1, 0}, {kKindLatent, bytes, 1, 0}}, &out, nullptr),
                 Status::kInvalidArgument);
    h.parameters.back() = {kKeyLatentPrediction, 1};  // latent prediction: a flag bit
    out.clear();  // the writer appends
    CHECK_STATUS(write_compact_frame(h, {{kKindResidualModel, bytes, 1, 0}, {kKindLatent, bytes, 1, 0}}, &out, nullptr),
                 Status::kOk);
    FrameView view;
    CHECK_STATUS(parse_frame(out.data(), out.size(), &view, nullptr), Status::kOk);
    CHECK(out[6] == kCompactFlagLatentPrediction && view.header.parameters.size() == 5 &&
          view.header.parameters[4].key == kKeyLatentPrediction && view.header.parameters[4].value == 1);
    h.parameters.back() = {kKeyLatentPrediction, 2};  // only 1 has a meaning
    CHECK_STATUS(write_compact_frame(h, {{kKindResidualModel, bytes, 1, 0}, {kKindLatent, bytes, 1, 0}}, &out, nullptr),
                 Status::kInvalidArgument);
    h.parameters = {{kKeyDisplayIndex, 1}, {kKeyGopIndex, 1}, {kKeyReferenceDistance, 300}, {kKeyResidualStep, 16}};
    CHECK_STATUS(write_compact_frame(h, {{kKindResidualModel, bytes, 1, 0}, {kKindLatent, bytes, 1, 0}}, &out, nullptr),
                 Status::kInvalidArgument);
}
