// Error codes returned by every fallible function of edgesdk_core.
// The core never throws and never aborts on bad input: it returns one of these.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace edgesdk {

enum class Status : int32_t {
    kOk = 0,
    kInvalidArgument = 1,     // caller passed inconsistent arguments (shapes, ranges)
    kInvalidTable = 2,        // a CDF table is not a valid 16-bit CDF
    kTruncated = 3,           // input ends before the declared data does
    kCorrupted = 4,           // input is structurally inconsistent (bad rANS state, bad value)
    kChecksumMismatch = 5,    // a CRC32C does not match its data
    kBadMagic = 6,            // input is not an edgesdk frame/packet at all
    kUnsupportedVersion = 7,  // a newer major format version than this build reads
    kLimitExceeded = 8,       // a declared size exceeds a documented limit
};

// Static, human-readable name of a status (never null).
const char* status_name(Status status);

// Fills the optional detail message that accompanies a failing status.
inline void set_detail(std::string* detail, std::string text) {
    if (detail) *detail = std::move(text);
}

}  // namespace edgesdk
