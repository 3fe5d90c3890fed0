// The cache detection and the rules that derive the GEMM's block sizes from it: the rules reproduce
// the sizes once tuned by hand on the CPUs they were tuned on, stay within what the driver accepts
// for any cache sizes, and the environment overrides parse and refuse bad input by name.
#define BOOST_TEST_MODULE block_sizes
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <string>

#include "cpu/detect.hpp"
#include "gemm/block_sizes.hpp"
#include "support/expect_error.hpp"
#include "tessera/cpu.hpp"
#include "tessera/gemm.hpp"

using namespace tessera;
using namespace tessera::detail;
using tessera::test::expect_invalid;

namespace {

constexpr std::int64_t KiB = 1024, MiB = 1024 * 1024;

CacheSizes caches(std::int64_t l1d, std::int64_t l2, std::int64_t l3) { return CacheSizes{l1d, l2, l3, "test"}; }

}  // namespace

BOOST_AUTO_TEST_CASE(rules_reproduce_the_hand_tuned_sizes) {
  // Cascade Lake (L1d 32 KiB, L2 1 MiB), where the AVX-512 sizes were measured.
  const BlockSizes skx = derive_block_sizes(kAvx512Rules, caches(32 * KiB, 1 * MiB, 32 * MiB));
  BOOST_TEST(skx.kc == 384);
  BOOST_TEST(skx.nc_l2 == 448);
  BOOST_TEST(skx.mc_l3 == 3072);
  BOOST_TEST(skx.nc_l3 == 4096);
  BOOST_TEST(skx.direct_a_max_cols == 128);
  BOOST_TEST(skx.direct_b_max_rows == 96);
  BOOST_TEST(skx.fuse_b_max_a_bytes == 512 * KiB);
  // Haswell (L1d 32 KiB, L2 256 KiB), where the AVX2 sizes were chosen.
  const BlockSizes hsw = derive_block_sizes(kAvx2Rules, caches(32 * KiB, 256 * KiB, 8 * MiB));
  BOOST_TEST(hsw.kc == 256);
  BOOST_TEST(hsw.nc_l2 == 160);
  BOOST_TEST(hsw.direct_a_max_cols == 128);
  BOOST_TEST(hsw.direct_b_max_rows == 96);
  // Zen 3 (L1d 32 KiB, L2 512 KiB): the same kc, a B block twice as wide.
  const BlockSizes zen3 = derive_block_sizes(kAvx2Rules, caches(32 * KiB, 512 * KiB, 32 * MiB));
  BOOST_TEST(zen3.kc == 256);
  BOOST_TEST(zen3.nc_l2 == 336);
}

BOOST_AUTO_TEST_CASE(derived_sizes_are_usable_for_any_caches) {
  for (const BlockRules& r : {kAvx512Rules, kAvx512NarrowRules, kAvx2Rules, kGenericRules}) {
    BlockSizes previous{};
    for (std::int64_t l1 :
         {std::int64_t{0}, std::int64_t{1}, 4 * KiB, 16 * KiB, 32 * KiB, 48 * KiB, 64 * KiB, 1 * MiB}) {
      for (std::int64_t l2 : {std::int64_t{0}, 64 * KiB, 256 * KiB, 1 * MiB, 2 * MiB, 64 * MiB}) {
        for (std::int64_t l3 : {std::int64_t{0}, 2 * MiB, 32 * MiB, 1024 * MiB}) {
          const BlockSizes b = derive_block_sizes(r, caches(l1, l2, l3));
          BOOST_TEST_CONTEXT("mr " << r.mr << " l1d " << l1 << " l2 " << l2 << " l3 " << l3) {
            BOOST_TEST((b.mr == r.mr && b.nr == r.nr));
            BOOST_TEST((b.kc >= r.kc_step && b.kc <= 1024 && b.kc % r.kc_step == 0));
            BOOST_TEST((b.nc_l2 >= r.nr && b.nc_l2 <= 4096 && b.nc_l2 % r.nr == 0));
            BOOST_TEST((b.mc_l3 >= r.mr && b.mc_l3 <= 3072 && b.mc_l3 % r.mr == 0));
            BOOST_TEST((b.nc_l3 >= r.nr && b.nc_l3 <= 4096 && b.nc_l3 % r.nr == 0));
            BOOST_TEST(b.fuse_b_max_a_bytes > 0);
            // The L1 rule holds wherever kc is above its floor.
            const std::int64_t sliver = 4LL * b.kc * (r.mr + (r.b_sliver_in_l1 ? r.nr : 0));
            if (b.kc > r.kc_step && l1 >= 4 * KiB) BOOST_TEST(sliver <= r.l1_share * static_cast<double>(l1));
          }
        }
      }
      // Larger L1, same L2 and L3: kc does not shrink.
      const BlockSizes b = derive_block_sizes(r, caches(l1, 1 * MiB, 32 * MiB));
      BOOST_TEST(b.kc >= previous.kc);
      previous = b;
    }
  }
}

BOOST_AUTO_TEST_CASE(cache_sizes_parse) {
  BOOST_TEST(parse_cache_size("48K") == 48 * KiB);
  BOOST_TEST(parse_cache_size("2048K") == 2 * MiB);
  BOOST_TEST(parse_cache_size("32M") == 32 * MiB);
  BOOST_TEST(parse_cache_size("512KiB") == 512 * KiB);
  BOOST_TEST(parse_cache_size("32768") == 32 * KiB);
  for (const char* bad : {"", "K", "12Q", "-4K", "1e3", "99999999999999M"}) {
    BOOST_TEST(parse_cache_size(bad) == -1, bad);
  }
}

BOOST_AUTO_TEST_CASE(cache_override_replaces_named_levels) {
  const CacheSizes detected = caches(48 * KiB, 2 * MiB, 260 * MiB);
  BOOST_TEST(apply_cache_override(detected, nullptr).source == "test");
  BOOST_TEST(apply_cache_override(detected, "").l1d == 48 * KiB);
  const CacheSizes zen3 = apply_cache_override(detected, "l1d=32K,l2=512K,l3=32M");
  BOOST_TEST(zen3.l1d == 32 * KiB);
  BOOST_TEST(zen3.l2 == 512 * KiB);
  BOOST_TEST(zen3.l3 == 32 * MiB);
  BOOST_TEST(zen3.source == "TESSERA_CACHES");
  const CacheSizes only_l2 = apply_cache_override(detected, "l2=1M");
  BOOST_TEST(only_l2.l1d == 48 * KiB);
  BOOST_TEST(only_l2.l2 == 1 * MiB);
  expect_invalid([&] { apply_cache_override(detected, "l1=32K"); }, "TESSERA_CACHES=l1=32K: unknown level 'l1'");
  expect_invalid([&] { apply_cache_override(detected, "l1d=big"); }, "'big' is not a size");
  expect_invalid([&] { apply_cache_override(detected, "l1d=32K,"); }, "'' is not name=value");
  expect_invalid([&] { apply_cache_override(detected, "l2"); }, "'l2' is not name=value");
}

BOOST_AUTO_TEST_CASE(block_override_replaces_named_sizes_and_checks_them) {
  const BlockSizes derived = derive_block_sizes(kAvx512Rules, caches(32 * KiB, 1 * MiB, 32 * MiB));
  const BlockSizes b = apply_block_override(derived, "kc=100,nc_l2=64,mc_l3=24,nc_l3=96");
  BOOST_TEST(b.kc == 100);
  BOOST_TEST(b.nc_l2 == 64);
  BOOST_TEST(b.mc_l3 == 24);
  BOOST_TEST(b.nc_l3 == 96);
  BOOST_TEST(b.direct_a_max_cols == derived.direct_a_max_cols);
  BOOST_TEST(apply_block_override(derived, nullptr).kc == 384);
  expect_invalid([&] { apply_block_override(derived, "nc_l2=33"); }, "nc_l2=33 is not a multiple of nr (32)");
  expect_invalid([&] { apply_block_override(derived, "mc_l3=13"); }, "mc_l3=13 is not a multiple of mr (12)");
  expect_invalid([&] { apply_block_override(derived, "kc=0"); }, "TESSERA_BLOCKS=kc=0: '0' is not a size");
  expect_invalid([&] { apply_block_override(derived, "kc=12x"); }, "'12x' is not a size");
  expect_invalid([&] { apply_block_override(derived, "mr=4"); }, "unknown size 'mr'");
}

BOOST_AUTO_TEST_CASE(detected_caches_are_plausible) {
  const CpuInfo& cpu = cpu_info();
  BOOST_TEST_MESSAGE("detected: " << describe_machine());
  BOOST_TEST(!cpu.model.empty());
  BOOST_TEST(cpu.logical_cpus >= 1);
  BOOST_TEST(!cpu.caches.source.empty());
  BOOST_TEST(cpu.caches.l1d >= 4 * KiB);
  BOOST_TEST(cpu.caches.l2 >= cpu.caches.l1d);
  BOOST_TEST((cpu.caches.l3 == 0 || cpu.caches.l3 >= cpu.caches.l2));
  // Where Linux describes the caches too, CPUID and sysfs agree on L1d.
  std::ifstream sysfs("/sys/devices/system/cpu/cpu0/cache/index0/size");
  std::string l1_text;
  if (cpu.caches.source.rfind("cpuid", 0) == 0 && sysfs >> l1_text) {
    std::ifstream type_file("/sys/devices/system/cpu/cpu0/cache/index0/type");
    std::string type;
    type_file >> type;
    if (type == "Data") BOOST_TEST(cpu.caches.l1d == parse_cache_size(l1_text));
  } else {
    BOOST_TEST_MESSAGE("CPUID against sysfs skipped: caches from " << cpu.caches.source);
  }
  BOOST_TEST(describe_machine().find(cpu.model) != std::string::npos);
  BOOST_TEST(describe_machine().find(std::string("isa ") + std::string(to_string(gemm_isa()))) != std::string::npos);
}
