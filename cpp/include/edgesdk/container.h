// Latent bitstream container (frames) and stream packets. Byte layouts: docs/bitstream.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "edgesdk/status.h"

namespace edgesdk {
namespace container {

// ---- Frames -------------------------------------------------------------------------

constexpr uint8_t kFrameMagic[4] = {'E', 'D', 'G', 'F'};
constexpr uint8_t kFrameMajorVersion = 1;
constexpr uint8_t kFrameMinorVersion = 0;
constexpr size_t kFrameFixedHeaderSize = 52;
constexpr size_t kParameterSize = 8;
constexpr size_t kSectionEntrySize = 12;
constexpr uint16_t kMaxParameters = 64;
constexpr uint16_t kMaxSections = 32;
constexpr uint32_t kMaxDimension = 65535;

enum class FrameType : uint8_t { kKey = 0, kPredicted = 1, kBidirectional = 2 };
constexpr uint8_t kMaxFrameType = 2;

struct Parameter {
    uint16_t key = 0;
    int32_t value = 0;
};

struct SectionView {
    uint16_t kind = 0;
    const uint8_t* data = nullptr;
    uint32_t size = 0;
    uint32_t crc = 0;
};

struct FrameHeader {
    uint8_t major_version = kFrameMajorVersion;
    uint8_t minor_version = kFrameMinorVersion;
    FrameType frame_type = FrameType::kKey;
    uint8_t quality = 0;
    std::array<uint8_t, 32> model_id{};  // sha256 of the bundle; zeros when unspecified
    uint32_t width = 0;
    uint32_t height = 0;
    std::vector<Parameter> parameters;
};

// A parsed frame: header fields plus views into the caller's buffer (no copies).
struct FrameView {
    FrameHeader header;
    std::vector<SectionView> sections;
    size_t header_size = 0;  // bytes before the first section payload
    bool compact = false;    // parsed from a compact inter frame (EDGI); model id all zero
};

// Compact inter frames (docs/bitstream.md, "Compact inter frame"): a P or B video frame whose
// parameters and section kinds are implied by its type, with one CRC32C over the whole frame.
constexpr uint8_t kCompactMagic[4] = {'E', 'D', 'G', 'I'};
constexpr uint8_t kCompactMajorVersion = 1;
constexpr size_t kCompactFixedHeaderSize = 22;
constexpr uint8_t kCompactFlagCopyBlocks = 1u << 0;
constexpr uint8_t kCompactFlagLatentPrediction = 1u << 1;  // P frames: parameter 16 = 1
constexpr uint8_t kCompactFlagResidualRoi = 1u << 2;  // RESIDUAL_ROI (9) in place of LATENT (2)
constexpr uint8_t kCompactFlagInterpolationOnly = 1u << 3;  // B frames: MOTION alone, no residual sections
constexpr uint8_t kCompactFlagMotion = 1u << 4;  // P frames: motion-compensated, a MOTION section comes first
constexpr uint8_t kCompactKnownFlags = kCompactFlagCopyBlocks | kCompactFlagLatentPrediction |
                                       kCompactFlagResidualRoi | kCompactFlagInterpolationOnly | kCompactFlagMotion;
// Parameter keys and section kinds a compact frame carries (docs/video.md).
constexpr uint16_t kKeyGopIndex = 6, kKeyReferenceDistance = 7, kKeyDisplayIndex = 8,
                   kKeyForwardReferenceDistance = 9, kKeyResidualStep = 10, kKeyLatentPrediction = 16;
constexpr uint16_t kKindLatent = 2, kKindMotion = 3, kKindResidualModel = 5, kKindCopyBlocks = 6,
                   kKindResidualRoi = 9;

// Appends a frame to *out. Sections are given as views; their CRCs are computed here.
Status write_frame(const FrameHeader& header, const std::vector<SectionView>& sections, std::vector<uint8_t>* out,
                   std::string* detail);

// Parses and fully verifies a frame occupying exactly [data, data+size).
// Parses a frame (magic EDGF) or a compact inter frame (magic EDGI, then ``out->compact``).
Status parse_frame(const uint8_t* data, size_t size, FrameView* out, std::string* detail);

// Writes a P or B frame in the compact layout: the parameters must be exactly display index,
// GOP index, reference distance(s) and residual step, the sections [motion (B)], residual
// model, latent or residual ROI, [copied blocks]; kInvalidArgument otherwise. The model id is not written.
Status write_compact_frame(const FrameHeader& header, const std::vector<SectionView>& sections,
                           std::vector<uint8_t>* out, std::string* detail);

// ---- Packets ------------------------------------------------------------------------

constexpr uint8_t kPacketSync[2] = {'E', 'P'};
constexpr uint8_t kPacketVersion = 1;
constexpr size_t kPacketHeaderSize = 28;
constexpr uint32_t kDefaultMaxPayload = 64u << 20;
constexpr uint8_t kPacketFlagKeyframe = 1u << 0;
constexpr uint8_t kPacketFlagEndOfStream = 1u << 1;
constexpr uint8_t kPacketKnownFlags = kPacketFlagKeyframe | kPacketFlagEndOfStream;

struct PacketHeader {
    uint8_t flags = 0;
    uint32_t stream_id = 0;
    uint64_t sequence = 0;
    uint32_t payload_size = 0;
    uint32_t payload_crc = 0;
};

// Appends one packet (header + payload) to *out.
Status write_packet(const PacketHeader& header, const uint8_t* payload, size_t payload_size,
                    std::vector<uint8_t>* out, std::string* detail);

// Parses the packet at the start of [data, data+size). On kOk, *consumed is the packet's
// total size and *payload points into data. kTruncated means more bytes are needed.
Status parse_packet(const uint8_t* data, size_t size, uint32_t max_payload, PacketHeader* header,
                    const uint8_t** payload, size_t* consumed, std::string* detail);

// Incremental reader for a byte stream of packets (file, socket, broker messages).
// Damaged bytes are skipped up to the next valid packet header and reported; payloads
// whose CRC fails are reported and dropped. Memory stays bounded by what is fed plus
// one packet.
class PacketReader {
public:
    struct Event {
        enum class Kind { kPacket, kSkippedBytes, kBadPayload, kSequenceGap } kind = Kind::kPacket;
        PacketHeader header;             // kPacket, kBadPayload, kSequenceGap (the packet after the gap)
        std::vector<uint8_t> payload;    // kPacket
        uint64_t count = 0;              // kSkippedBytes: bytes; kSequenceGap: missing packets
    };

    explicit PacketReader(uint32_t max_payload = kDefaultMaxPayload) : max_payload_(max_payload) {}

    void feed(const uint8_t* data, size_t size);
    // Pops the next event; returns false when more input is needed.
    bool next(Event* event);
    // Bytes fed but not yet returned as events (a partial packet at the end of input).
    size_t pending_bytes() const { return buffer_.size() - position_; }
    // Bytes skipped since the last event, reported with the next packet (or read here at end of input).
    uint64_t pending_skipped_bytes() const { return skipped_; }

private:
    bool flush_skipped(Event* event);
    void compact();

    uint32_t max_payload_;
    std::vector<uint8_t> buffer_;
    size_t position_ = 0;
    uint64_t skipped_ = 0;
    std::deque<Event> queued_;
    // Next expected sequence number per stream id (small: one entry per live stream).
    std::vector<std::pair<uint32_t, uint64_t>> expected_;
};

}  // namespace container
}  // namespace edgesdk
