// What Tessera detected about the CPU it runs on (model, cache sizes) and what its GEMM chose from it,
// for benchmarks and logs to say where they ran.
#pragma once

#include <cstdint>
#include <string>

namespace tessera {

// Data cache sizes in bytes: L1d and L2 of one core, L3 as one whole cache (shared by several cores).
// A size is 0 where the CPU reported no such level. `source` says where they came from: "cpuid leaf
// 4" (Intel), "cpuid leaf 0x8000001d" (AMD), "sysfs", "default" (nothing answered: 32 KiB, 256 KiB,
// 8 MiB assumed) or "TESSERA_CACHES" (the environment variable, e.g. TESSERA_CACHES=l1d=32K,l2=512K,
// l3=32M, to see the block sizes another CPU would get; levels it omits are detected).
struct CacheSizes {
  std::int64_t l1d = 0;
  std::int64_t l2 = 0;
  std::int64_t l3 = 0;
  std::string source;
};

struct CpuInfo {
  std::string vendor;  // "GenuineIntel", "AuthenticAMD", ...
  std::string model;   // the brand string, e.g. "AMD EPYC 7B13 64-Core Processor"
  int logical_cpus = 0;
  CacheSizes caches;
};

// Detected once, on first use. Throws std::invalid_argument if TESSERA_CACHES is malformed.
const CpuInfo& cpu_info();

// One line for the top of a benchmark's output: model, logical CPUs, the GEMM's ISA, kernel and block
// sizes, and the caches they were derived from.
std::string describe_machine();

}  // namespace tessera
