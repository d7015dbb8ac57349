#include "edgesdk/container.h"

#include <algorithm>
#include <cstring>

#include "edgesdk/crc32c.h"

namespace edgesdk {
namespace container {

namespace {

// Little-endian helpers, independent of the host byte order.
void put_u16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(uint8_t(v));
    out.push_back(uint8_t(v >> 8));
}
void put_u32(std::vector<uint8_t>& out, uint32_t v) {
    for (int b = 0; b < 4; ++b) out.push_back(uint8_t(v >> (8 * b)));
}
void put_u64(std::vector<uint8_t>& out, uint64_t v) {
    for (int b = 0; b < 8; ++b) out.push_back(uint8_t(v >> (8 * b)));
}
uint16_t get_u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t get_u32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint64_t get_u64(const uint8_t* p) { return uint64_t(get_u32(p)) | uint64_t(get_u32(p + 4)) << 32; }

size_t frame_header_size(size_t parameters, size_t sections) {
    return kFrameFixedHeaderSize + kParameterSize * parameters + kSectionEntrySize * sections + 4;
}

Status check_header_fields(const FrameHeader& h, std::string* detail) {
    for (size_t i = 0; i < h.parameters.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
            if (h.parameters[i].key == h.parameters[j].key) {
                set_detail(detail, "frame: parameter key " + std::to_string(h.parameters[i].key) + " appears twice");
                return Status::kCorrupted;
            }
        }
    }
    if (static_cast<uint8_t>(h.frame_type) > kMaxFrameType) {
        set_detail(detail, "frame type " + std::to_string(int(h.frame_type)) + " is not 0 (key), 1 (P) or 2 (B)");
        return Status::kCorrupted;
    }
    if (h.width < 1 || h.height < 1 || h.width > kMaxDimension || h.height > kMaxDimension) {
        set_detail(detail, "frame size " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                               " outside 1.." + std::to_string(kMaxDimension));
        return Status::kLimitExceeded;
    }
    return Status::kOk;
}

constexpr size_t kMaxTrackedStreams = 1024;

// The section kinds of a compact frame, in order: MOTION (B frames, motion-compensated P frames),
// the residual's model and latent (not for an interpolation alone), copied blocks.
std::vector<uint16_t> compact_kinds(bool motion, bool copy_blocks, bool residual_roi, bool interpolation_only) {
    std::vector<uint16_t> kinds;
    if (motion) kinds.push_back(kKindMotion);
    if (interpolation_only) return kinds;
    kinds.push_back(kKindResidualModel);
    kinds.push_back(residual_roi ? kKindResidualRoi : kKindLatent);
    if (copy_blocks) kinds.push_back(kKindCopyBlocks);
    return kinds;
}

Status parse_compact_frame(const uint8_t* data, size_t size, FrameView* out, std::string* detail) {
    if (size < kCompactFixedHeaderSize) {
        set_detail(detail, "compact frame: " + std::to_string(size) + " bytes, shorter than the " +
                               std::to_string(kCompactFixedHeaderSize) + "-byte fixed header");
        return Status::kTruncated;
    }
    if (data[4] != kCompactMajorVersion) {
        set_detail(detail, "compact frame: format version " + std::to_string(data[4]) +
                               " is not readable by this build; upgrade edgesdk");
        return Status::kUnsupportedVersion;
    }
    const uint8_t type = data[5], flags = data[6];
    if (type != uint8_t(FrameType::kPredicted) && type != uint8_t(FrameType::kBidirectional)) {
        set_detail(detail, "compact frame: type " + std::to_string(type) + " is not 1 (P) or 2 (B)");
        return Status::kCorrupted;
    }
    const bool bidirectional = type == uint8_t(FrameType::kBidirectional);
    const bool interpolation_only = flags & kCompactFlagInterpolationOnly, p_motion = flags & kCompactFlagMotion;
    if ((flags & ~kCompactKnownFlags) || (bidirectional && (flags & kCompactFlagLatentPrediction)) ||
        (interpolation_only && (!bidirectional || (flags & (kCompactFlagCopyBlocks | kCompactFlagResidualRoi)))) ||
        (p_motion && (bidirectional || (flags & kCompactFlagLatentPrediction)))) {
        set_detail(detail, "compact frame: unknown flag bits, latent prediction on a B frame, interpolation only "
                           "on a P frame or with residual flags, or P-frame motion on a B frame or with latent "
                           "prediction");
        return Status::kCorrupted;
    }
    const std::vector<uint16_t> kinds = compact_kinds(bidirectional || p_motion, flags & kCompactFlagCopyBlocks,
                                                      flags & kCompactFlagResidualRoi, interpolation_only);
    const size_t count = kinds.size();
    const size_t header_size = kCompactFixedHeaderSize + 4 * count;
    if (size < header_size + 4) {
        set_detail(detail, "compact frame: " + std::to_string(size) + " bytes, shorter than its " +
                               std::to_string(header_size + 4) + "-byte header and CRC");
        return Status::kTruncated;
    }
    uint64_t payload_total = 0;
    for (size_t i = 0; i < count; ++i) payload_total += get_u32(data + kCompactFixedHeaderSize + 4 * i);
    const uint64_t available = size - header_size - 4;
    if (payload_total != available) {
        set_detail(detail, "compact frame: sections declare " + std::to_string(payload_total) + " bytes, " +
                               std::to_string(available) + " are present");
        return payload_total > available ? Status::kTruncated : Status::kCorrupted;
    }
    if (crc32c(data, size - 4) != get_u32(data + size - 4)) {
        set_detail(detail, "compact frame: CRC32C mismatch (frame damaged)");
        return Status::kChecksumMismatch;
    }
    FrameView view;
    FrameHeader& h = view.header;
    h.frame_type = static_cast<FrameType>(type);
    h.quality = data[7];
    h.width = get_u16(data + 8);
    h.height = get_u16(data + 10);
    if (h.width < 1 || h.height < 1) {
        set_detail(detail, "compact frame: size " + std::to_string(h.width) + "x" + std::to_string(h.height));
        return Status::kLimitExceeded;
    }
    if (!bidirectional && data[19] != 0) {
        set_detail(detail, "compact frame: a P frame with a forward reference distance");
        return Status::kCorrupted;
    }
    h.parameters.push_back({kKeyDisplayIndex, static_cast<int32_t>(get_u32(data + 12))});
    h.parameters.push_back({kKeyGopIndex, get_u16(data + 16)});
    h.parameters.push_back({kKeyReferenceDistance, data[18]});
    if (bidirectional) h.parameters.push_back({kKeyForwardReferenceDistance, data[19]});
    h.parameters.push_back({kKeyResidualStep, get_u16(data + 20)});
    if (flags & kCompactFlagLatentPrediction) h.parameters.push_back({kKeyLatentPrediction, 1});
    const uint8_t* payload = data + header_size;
    for (size_t i = 0; i < count; ++i) {
        const uint32_t length = get_u32(data + kCompactFixedHeaderSize + 4 * i);
        view.sections.push_back({kinds[i], payload, length, 0});
        payload += length;
    }
    view.header_size = header_size;
    view.compact = true;
    *out = std::move(view);
    return Status::kOk;
}

// The value of parameter ``key`` if present and in low..high; false otherwise.
bool compact_value(const FrameHeader& h, uint16_t key, int64_t low, int64_t high, uint32_t* value) {
    for (const Parameter& p : h.parameters) {
        if (p.key == key) {
            if (p.value < low || p.value > high) return false;
            *value = static_cast<uint32_t>(p.value);
            return true;
        }
    }
    return false;
}

}  // namespace

Status write_compact_frame(const FrameHeader& header, const std::vector<SectionView>& sections,
                           std::vector<uint8_t>* out, std::string* detail) {
    if (!out) return Status::kInvalidArgument;
    const bool bidirectional = header.frame_type == FrameType::kBidirectional;
    if (header.frame_type != FrameType::kPredicted && !bidirectional) {
        set_detail(detail, "compact frame: only P and B frames");
        return Status::kInvalidArgument;
    }
    uint32_t display = 0, gop = 0, distance = 0, forward = 0, step = 0, latent = 0;
    const bool latent_prediction = !bidirectional && compact_value(header, kKeyLatentPrediction, 1, 1, &latent);
    const bool fits = compact_value(header, kKeyDisplayIndex, 0, 0x7FFFFFFF, &display) &&
                      compact_value(header, kKeyGopIndex, 0, 0xFFFF, &gop) &&
                      compact_value(header, kKeyReferenceDistance, 1, 0xFF, &distance) &&
                      (!bidirectional || compact_value(header, kKeyForwardReferenceDistance, 1, 0xFF, &forward)) &&
                      compact_value(header, kKeyResidualStep, 1, 0xFFFF, &step) &&
                      header.parameters.size() == (bidirectional ? 5u : 4u) + (latent_prediction ? 1u : 0u) &&
                      header.width >= 1 &&
                      header.height >= 1 && header.width <= 0xFFFF && header.height <= 0xFFFF;
    const bool copy_blocks = !sections.empty() && sections.back().kind == kKindCopyBlocks;
    bool residual_roi = false;
    for (const SectionView& s : sections) residual_roi = residual_roi || s.kind == kKindResidualRoi;
    const bool interpolation_only = bidirectional && sections.size() == 1;  // MOTION alone
    const bool p_motion = !bidirectional && !sections.empty() && sections.front().kind == kKindMotion;
    const std::vector<uint16_t> kinds =
        compact_kinds(bidirectional || p_motion, copy_blocks, residual_roi, interpolation_only);
    bool sections_fit = sections.size() == kinds.size() && !(p_motion && latent_prediction);
    for (size_t i = 0; sections_fit && i < kinds.size(); ++i)
        sections_fit = sections[i].kind == kinds[i] && (sections[i].size == 0 || sections[i].data);
    if (!fits || !sections_fit) {
        set_detail(detail, "compact frame: needs exactly the display index, GOP index, reference distance(s) and "
                           "residual step in range, and the sections [motion], residual model, latent or "
                           "residual ROI, [copied blocks], or a B frame's motion alone; no motion with latent "
                           "prediction");
        return Status::kInvalidArgument;
    }
    const size_t begin = out->size();
    out->insert(out->end(), kCompactMagic, kCompactMagic + 4);
    out->push_back(kCompactMajorVersion);
    out->push_back(static_cast<uint8_t>(header.frame_type));
    out->push_back(uint8_t((copy_blocks ? kCompactFlagCopyBlocks : 0) |
                           (latent_prediction ? kCompactFlagLatentPrediction : 0) |
                           (residual_roi ? kCompactFlagResidualRoi : 0) |
                           (interpolation_only ? kCompactFlagInterpolationOnly : 0) |
                           (p_motion ? kCompactFlagMotion : 0)));
    out->push_back(header.quality);
    put_u16(*out, uint16_t(header.width));
    put_u16(*out, uint16_t(header.height));
    put_u32(*out, display);
    put_u16(*out, uint16_t(gop));
    out->push_back(uint8_t(distance));
    out->push_back(uint8_t(forward));
    put_u16(*out, uint16_t(step));
    for (const SectionView& s : sections) put_u32(*out, s.size);
    for (const SectionView& s : sections) out->insert(out->end(), s.data, s.data + s.size);
    put_u32(*out, crc32c(out->data() + begin, out->size() - begin));
    return Status::kOk;
}

Status write_frame(const FrameHeader& header, const std::vector<SectionView>& sections, std::vector<uint8_t>* out,
                   std::string* detail) {
    if (!out) return Status::kInvalidArgument;
    if (header.parameters.size() > kMaxParameters || sections.size() > kMaxSections) {
        set_detail(detail, "frame: at most " + std::to_string(kMaxParameters) + " parameters and " +
                               std::to_string(kMaxSections) + " sections");
        return Status::kLimitExceeded;
    }
    if (header.major_version != kFrameMajorVersion) {
        set_detail(detail, "frame: this build writes major version " + std::to_string(kFrameMajorVersion));
        return Status::kUnsupportedVersion;
    }
    Status st = check_header_fields(header, detail);
    if (st == Status::kCorrupted) return Status::kInvalidArgument;  // the caller's fields, not damaged input
    if (st != Status::kOk) return st;
    for (const SectionView& s : sections) {
        if (s.size > 0 && !s.data) return Status::kInvalidArgument;
    }
    const size_t begin = out->size();
    out->insert(out->end(), kFrameMagic, kFrameMagic + 4);
    out->push_back(header.major_version);
    out->push_back(header.minor_version);
    out->push_back(static_cast<uint8_t>(header.frame_type));
    out->push_back(header.quality);
    out->insert(out->end(), header.model_id.begin(), header.model_id.end());
    put_u32(*out, header.width);
    put_u32(*out, header.height);
    put_u16(*out, uint16_t(header.parameters.size()));
    put_u16(*out, uint16_t(sections.size()));
    for (const Parameter& p : header.parameters) {
        put_u16(*out, p.key);
        put_u16(*out, 0);
        put_u32(*out, static_cast<uint32_t>(p.value));
    }
    for (const SectionView& s : sections) {
        put_u16(*out, s.kind);
        put_u16(*out, 0);
        put_u32(*out, s.size);
        put_u32(*out, crc32c(s.data, s.size));
    }
    put_u32(*out, crc32c(out->data() + begin, out->size() - begin));
    for (const SectionView& s : sections) out->insert(out->end(), s.data, s.data + s.size);
    return Status::kOk;
}

Status parse_frame(const uint8_t* data, size_t size, FrameView* out, std::string* detail) {
    if (!out || (size > 0 && !data)) return Status::kInvalidArgument;
    if (size == 0) {
        set_detail(detail, "frame: empty input");
        return Status::kTruncated;
    }
    if (size >= 4 && std::memcmp(data, kCompactMagic, 4) == 0) return parse_compact_frame(data, size, out, detail);
    const size_t magic_bytes = std::min<size_t>(size, 4);
    if (std::memcmp(data, kFrameMagic, magic_bytes) != 0) {
        set_detail(detail, "not an edgesdk latent frame (magic is not 'EDGF')");
        return Status::kBadMagic;
    }
    if (size < kFrameFixedHeaderSize) {
        set_detail(detail, "frame: " + std::to_string(size) + " bytes, shorter than the " +
                               std::to_string(kFrameFixedHeaderSize) + "-byte fixed header");
        return Status::kTruncated;
    }
    if (data[4] != kFrameMajorVersion) {
        set_detail(detail, "frame: format version " + std::to_string(data[4]) + "." + std::to_string(data[5]) +
                               " is not readable by this build (reads " + std::to_string(kFrameMajorVersion) +
                               ".x); upgrade edgesdk");
        return Status::kUnsupportedVersion;
    }
    const uint16_t num_parameters = get_u16(data + 48);
    const uint16_t num_sections = get_u16(data + 50);
    if (num_parameters > kMaxParameters || num_sections > kMaxSections) {
        set_detail(detail, "frame: declares " + std::to_string(num_parameters) + " parameters and " +
                               std::to_string(num_sections) + " sections (limits " +
                               std::to_string(kMaxParameters) + ", " + std::to_string(kMaxSections) + ")");
        return Status::kLimitExceeded;
    }
    const size_t header_size = frame_header_size(num_parameters, num_sections);
    if (size < header_size) {
        set_detail(detail, "frame: " + std::to_string(size) + " bytes, shorter than its " +
                               std::to_string(header_size) + "-byte header");
        return Status::kTruncated;
    }
    if (crc32c(data, header_size - 4) != get_u32(data + header_size - 4)) {
        set_detail(detail, "frame: header CRC32C mismatch (header damaged)");
        return Status::kChecksumMismatch;
    }
    FrameView view;
    FrameHeader& h = view.header;
    h.major_version = data[4];
    h.minor_version = data[5];
    if (data[6] > kMaxFrameType) {
        set_detail(detail, "frame type " + std::to_string(data[6]) + " is not 0 (key), 1 (P) or 2 (B)");
        return Status::kCorrupted;
    }
    h.frame_type = static_cast<FrameType>(data[6]);
    h.quality = data[7];
    std::memcpy(h.model_id.data(), data + 8, 32);
    h.width = get_u32(data + 40);
    h.height = get_u32(data + 44);
    const uint8_t* p = data + kFrameFixedHeaderSize;
    h.parameters.resize(num_parameters);
    for (Parameter& param : h.parameters) {
        if (get_u16(p + 2) != 0) {
            set_detail(detail, "frame: reserved parameter bits are set");
            return Status::kCorrupted;
        }
        param.key = get_u16(p);
        param.value = static_cast<int32_t>(get_u32(p + 4));
        p += kParameterSize;
    }
    Status st = check_header_fields(h, detail);
    if (st != Status::kOk) return st;
    uint64_t payload_total = 0;
    view.sections.resize(num_sections);
    for (SectionView& s : view.sections) {
        if (get_u16(p + 2) != 0) {
            set_detail(detail, "frame: reserved section bits are set");
            return Status::kCorrupted;
        }
        s.kind = get_u16(p);
        s.size = get_u32(p + 4);
        s.crc = get_u32(p + 8);
        payload_total += s.size;
        p += kSectionEntrySize;
    }
    const uint64_t available = size - header_size;
    if (payload_total > available) {
        set_detail(detail, "frame: sections declare " + std::to_string(payload_total) + " bytes but only " +
                               std::to_string(available) + " follow the header");
        return Status::kTruncated;
    }
    if (payload_total < available) {
        set_detail(detail, "frame: " + std::to_string(available - payload_total) +
                               " unexpected bytes after the last section");
        return Status::kCorrupted;
    }
    const uint8_t* payload = data + header_size;
    for (size_t i = 0; i < view.sections.size(); ++i) {
        SectionView& s = view.sections[i];
        s.data = payload;
        if (crc32c(payload, s.size) != s.crc) {
            set_detail(detail, "frame: section " + std::to_string(i) + " (kind " + std::to_string(s.kind) +
                                   ") CRC32C mismatch (data damaged)");
            return Status::kChecksumMismatch;
        }
        payload += s.size;
    }
    view.header_size = header_size;
    *out = std::move(view);
    return Status::kOk;
}

Status write_packet(const PacketHeader& header, const uint8_t* payload, size_t payload_size,
                    std::vector<uint8_t>* out, std::string* detail) {
    if (!out || (payload_size > 0 && !payload)) return Status::kInvalidArgument;
    if (payload_size > 0xFFFFFFFFu) {
        set_detail(detail, "packet: payload larger than 4 GiB");
        return Status::kLimitExceeded;
    }
    if (header.flags & ~kPacketKnownFlags) {
        set_detail(detail, "packet: unknown flag bits");
        return Status::kInvalidArgument;
    }
    const size_t begin = out->size();
    out->insert(out->end(), kPacketSync, kPacketSync + 2);
    out->push_back(kPacketVersion);
    out->push_back(header.flags);
    put_u32(*out, header.stream_id);
    put_u64(*out, header.sequence);
    put_u32(*out, uint32_t(payload_size));
    put_u32(*out, crc32c(payload, payload_size));
    put_u32(*out, crc32c(out->data() + begin, kPacketHeaderSize - 4));
    out->insert(out->end(), payload, payload + payload_size);
    return Status::kOk;
}

Status parse_packet(const uint8_t* data, size_t size, uint32_t max_payload, PacketHeader* header,
                    const uint8_t** payload, size_t* consumed, std::string* detail) {
    if (!header || !payload || !consumed || (size > 0 && !data)) return Status::kInvalidArgument;
    *consumed = 0;
    if (size == 0) return Status::kTruncated;
    if (std::memcmp(data, kPacketSync, std::min<size_t>(size, 2)) != 0) {
        set_detail(detail, "packet: no 'EP' sync bytes");
        return Status::kBadMagic;
    }
    if (size < kPacketHeaderSize) {
        set_detail(detail, "packet: header incomplete");
        return Status::kTruncated;
    }
    if (data[2] != kPacketVersion) {
        set_detail(detail, "packet: version " + std::to_string(data[2]) + " is not readable by this build");
        return Status::kUnsupportedVersion;
    }
    if (crc32c(data, kPacketHeaderSize - 4) != get_u32(data + kPacketHeaderSize - 4)) {
        set_detail(detail, "packet: header CRC32C mismatch");
        return Status::kChecksumMismatch;
    }
    PacketHeader h;
    h.flags = data[3];
    h.stream_id = get_u32(data + 4);
    h.sequence = get_u64(data + 8);
    h.payload_size = get_u32(data + 16);
    h.payload_crc = get_u32(data + 20);
    if (h.flags & ~kPacketKnownFlags) {
        set_detail(detail, "packet: unknown flag bits set");
        return Status::kCorrupted;
    }
    if (h.payload_size > max_payload) {
        set_detail(detail, "packet: payload of " + std::to_string(h.payload_size) + " bytes exceeds the limit of " +
                               std::to_string(max_payload));
        return Status::kLimitExceeded;
    }
    *header = h;
    if (size - kPacketHeaderSize < h.payload_size) {
        set_detail(detail, "packet: payload incomplete");
        return Status::kTruncated;
    }
    *payload = data + kPacketHeaderSize;
    *consumed = kPacketHeaderSize + h.payload_size;
    if (crc32c(*payload, h.payload_size) != h.payload_crc) {
        set_detail(detail, "packet: payload CRC32C mismatch (stream " + std::to_string(h.stream_id) +
                               ", sequence " + std::to_string(h.sequence) + ")");
        return Status::kChecksumMismatch;
    }
    return Status::kOk;
}

void PacketReader::feed(const uint8_t* data, size_t size) {
    if (size == 0) return;
    compact();
    buffer_.insert(buffer_.end(), data, data + size);
}

void PacketReader::compact() {
    if (position_ > 0 && position_ * 2 >= buffer_.size()) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(position_));
        position_ = 0;
    }
}

bool PacketReader::flush_skipped(Event* event) {
    if (skipped_ == 0) return false;
    *event = Event{};
    event->kind = Event::Kind::kSkippedBytes;
    event->count = skipped_;
    skipped_ = 0;
    return true;
}

bool PacketReader::next(Event* event) {
    for (;;) {
        if (!queued_.empty()) {
            *event = std::move(queued_.front());
            queued_.pop_front();
            return true;
        }
        const uint8_t* data = buffer_.data() + position_;
        const size_t available = buffer_.size() - position_;
        if (available == 0) return false;
        PacketHeader h;
        const uint8_t* payload = nullptr;
        size_t consumed = 0;
        const Status st = parse_packet(data, available, max_payload_, &h, &payload, &consumed, nullptr);
        if (st == Status::kTruncated) return false;  // a run of skipped bytes is reported once, whole
        if (st == Status::kOk || (st == Status::kChecksumMismatch && consumed > 0)) {
            Event skipped;
            if (flush_skipped(&skipped)) queued_.push_back(std::move(skipped));
            position_ += consumed;
            if (st != Status::kOk) {
                Event bad;
                bad.kind = Event::Kind::kBadPayload;
                bad.header = h;
                queued_.push_back(std::move(bad));
                continue;
            }
            auto it = std::find_if(expected_.begin(), expected_.end(),
                                   [&](const std::pair<uint32_t, uint64_t>& e) { return e.first == h.stream_id; });
            if (it != expected_.end() && h.sequence != it->second) {
                Event gap;
                gap.kind = Event::Kind::kSequenceGap;
                gap.header = h;
                // Missing packets when the sequence jumped forward; 0 for a repeat or reordering.
                gap.count = h.sequence > it->second ? h.sequence - it->second : 0;
                queued_.push_back(std::move(gap));
            }
            if (it == expected_.end()) {
                if (expected_.size() >= kMaxTrackedStreams) expected_.erase(expected_.begin());
                expected_.emplace_back(h.stream_id, 0);
                it = expected_.end() - 1;
            }
            it->second = h.sequence + 1;
            if (h.flags & kPacketFlagEndOfStream) expected_.erase(it);
            Event packet;
            packet.kind = Event::Kind::kPacket;
            packet.header = h;
            packet.payload.assign(payload, payload + h.payload_size);
            queued_.push_back(std::move(packet));
            continue;
        }
        // Not a valid packet header here: skip to the next candidate sync byte.
        const void* next_sync = std::memchr(data + 1, kPacketSync[0], available - 1);
        const size_t skip = next_sync ? size_t(static_cast<const uint8_t*>(next_sync) - data) : available;
        position_ += skip;
        skipped_ += skip;
    }
}

}  // namespace container
}  // namespace edgesdk
