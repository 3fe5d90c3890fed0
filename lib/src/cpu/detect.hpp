// The pieces of CPU detection the tests check directly.
#pragma once

#include <cstdint>
#include <string>

#include "tessera/cpu.hpp"

namespace tessera::detail {

// "48K", "2048K", "32M", "32768" -> bytes; -1 when not a size.
std::int64_t parse_cache_size(const std::string& text);
// The levels TESSERA_CACHES names replace the detected ones (text may be null: no override).
CacheSizes apply_cache_override(CacheSizes detected, const char* text);
// CPUID, else sysfs, else the default; then TESSERA_CACHES.
CacheSizes detect_caches(const std::string& vendor_id);

}  // namespace tessera::detail
