#include "edgesdk/status.h"

namespace edgesdk {

const char* status_name(Status status) {
    switch (status) {
        case Status::kOk: return "ok";
        case Status::kInvalidArgument: return "invalid argument";
        case Status::kInvalidTable: return "invalid CDF table";
        case Status::kTruncated: return "truncated input";
        case Status::kCorrupted: return "corrupted input";
        case Status::kChecksumMismatch: return "checksum mismatch";
        case Status::kBadMagic: return "bad magic";
        case Status::kUnsupportedVersion: return "unsupported version";
        case Status::kLimitExceeded: return "limit exceeded";
    }
    return "unknown status";
}

}  // namespace edgesdk
