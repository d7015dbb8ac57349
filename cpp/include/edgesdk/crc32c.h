// CRC32C (Castagnoli polynomial, reflected 0x82F63B78), as used by iSCSI, ext4 and SCTP.
#pragma once

#include <cstddef>
#include <cstdint>

namespace edgesdk {

// CRC32C of `size` bytes. Pass a previous result as `crc` to continue a running checksum.
uint32_t crc32c(const uint8_t* data, size_t size, uint32_t crc = 0);

}  // namespace edgesdk
