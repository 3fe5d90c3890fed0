// CPU model and data cache sizes, from CPUID (Intel's leaf 4, AMD's leaf 0x8000001D), else from
// Linux's sysfs, else a safe default; TESSERA_CACHES overrides any level.
#include "cpu/detect.hpp"
#include "env_settings.hpp"

#include <cpuid.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace tessera::detail {
namespace {

struct Regs {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Regs cpuid(unsigned leaf, unsigned subleaf = 0) {
  Regs r;
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

std::string vendor() {
  const Regs r = cpuid(0);
  char name[13] = {};
  std::memcpy(name, &r.ebx, 4);
  std::memcpy(name + 4, &r.edx, 4);
  std::memcpy(name + 8, &r.ecx, 4);
  return name;
}

std::string brand() {
  if (cpuid(0x80000000).eax < 0x80000004) return "unknown x86-64";
  char text[49] = {};
  for (unsigned i = 0; i < 3; ++i) {
    const Regs r = cpuid(0x80000002 + i);
    std::memcpy(text + 16 * i, &r, 16);
  }
  std::string s = text;
  const auto first = s.find_first_not_of(' ');
  const auto last = s.find_last_not_of(' ');
  return first == std::string::npos ? "unknown x86-64" : s.substr(first, last - first + 1);
}

// Leaves 4 and 0x8000001D share one layout: subleaf i describes cache i until its type is 0.
// Size = ways · partitions · line size · sets.
CacheSizes from_cache_leaf(unsigned leaf) {
  CacheSizes c;
  for (unsigned i = 0; i < 16; ++i) {
    const Regs r = cpuid(leaf, i);
    const unsigned type = r.eax & 0x1f;  // 1 data, 2 instruction, 3 unified
    if (type == 0) break;
    if (type == 2) continue;
    const unsigned level = (r.eax >> 5) & 7;
    const std::int64_t size = static_cast<std::int64_t>(((r.ebx >> 22) & 0x3ff) + 1) * (((r.ebx >> 12) & 0x3ff) + 1) *
                              ((r.ebx & 0xfff) + 1) * (static_cast<std::int64_t>(r.ecx) + 1);
    if (level == 1) c.l1d = size;
    if (level == 2) c.l2 = size;
    if (level == 3) c.l3 = size;
  }
  return c;
}

CacheSizes from_cpuid(const std::string& vendor_id) {
  if (vendor_id == "GenuineIntel" && cpuid(0).eax >= 4) {
    CacheSizes c = from_cache_leaf(4);
    c.source = "cpuid leaf 4";
    return c;
  }
  if ((vendor_id == "AuthenticAMD" || vendor_id == "HygonGenuine") && cpuid(0x80000000).eax >= 0x8000001d &&
      (cpuid(0x80000001).ecx & (1u << 22)) != 0) {  // TopologyExtensions: leaf 0x8000001D is valid
    CacheSizes c = from_cache_leaf(0x8000001d);
    c.source = "cpuid leaf 0x8000001d";
    return c;
  }
  return {};
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

CacheSizes from_sysfs() {
  CacheSizes c;
  for (int i = 0; i < 16; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    const std::string type = read_line(dir + "type");
    if (type.empty()) break;
    if (type == "Instruction") continue;
    const std::int64_t size = parse_cache_size(read_line(dir + "size"));
    const std::string level = read_line(dir + "level");
    if (size <= 0) continue;
    if (level == "1") c.l1d = size;
    if (level == "2") c.l2 = size;
    if (level == "3") c.l3 = size;
  }
  c.source = "sysfs";
  return c;
}

}  // namespace

std::int64_t parse_cache_size(const std::string& text) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    return -1;
  }
  const std::string unit = text.substr(used);
  std::int64_t scale = 1;
  if (unit == "K" || unit == "k" || unit == "KiB") {
    scale = 1024;
  } else if (unit == "M" || unit == "m" || unit == "MiB") {
    scale = 1024 * 1024;
  } else if (!unit.empty()) {
    return -1;
  }
  if (value < 0 || value > (std::int64_t{1} << 40) / scale) return -1;
  return value * scale;
}

CacheSizes apply_cache_override(CacheSizes detected, const char* text) {
  if (text == nullptr || *text == '\0') return detected;
  for_each_env_setting("TESSERA_CACHES", text, "l1d=32K,l2=512K,l3=32M; sizes in bytes, K or M",
                       [&](const std::string& level, const std::string& value) -> std::string {
                         const std::int64_t size = parse_cache_size(value);
                         if (size <= 0) return "'" + value + "' is not a size";
                         if (level == "l1d") {
                           detected.l1d = size;
                         } else if (level == "l2") {
                           detected.l2 = size;
                         } else if (level == "l3") {
                           detected.l3 = size;
                         } else {
                           return "unknown level '" + level + "'";
                         }
                         return {};
                       });
  detected.source = "TESSERA_CACHES";
  return detected;
}

CacheSizes detect_caches(const std::string& vendor_id) {
  CacheSizes c = from_cpuid(vendor_id);
  if (c.l1d <= 0 || c.l2 <= 0) c = from_sysfs();
  if (c.l1d <= 0 || c.l2 <= 0) c = CacheSizes{32 * 1024, 256 * 1024, 8 * 1024 * 1024, "default"};
  return apply_cache_override(c, std::getenv("TESSERA_CACHES"));
}

}  // namespace tessera::detail

namespace tessera {

const CpuInfo& cpu_info() {
  static const CpuInfo info = [] {
    CpuInfo i;
    i.vendor = detail::vendor();
    i.model = detail::brand();
    i.logical_cpus = static_cast<int>(std::thread::hardware_concurrency());
    i.caches = detail::detect_caches(i.vendor);
    return i;
  }();
  return info;
}

}  // namespace tessera
