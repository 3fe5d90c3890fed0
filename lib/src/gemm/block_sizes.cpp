// Block sizes from cache sizes, by the rules stated in block_sizes.hpp; TESSERA_BLOCKS.
#include "gemm/block_sizes.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "env_settings.hpp"

namespace tessera::detail {
namespace {

std::int64_t round_down(std::int64_t value, std::int64_t step) { return value / step * step; }

}  // namespace

BlockSizes derive_block_sizes(const BlockRules& r, const CacheSizes& caches) {
  const std::int64_t l1 = std::max<std::int64_t>(caches.l1d, 4096);
  const std::int64_t l2 = std::max<std::int64_t>(caches.l2, l1);
  const std::int64_t l3 = std::max<std::int64_t>(caches.l3, l2);
  const auto floats = [](double bytes) { return static_cast<std::int64_t>(bytes / 4.0); };

  const std::int64_t per_k = r.mr + (r.b_sliver_in_l1 ? r.nr : 0);
  const std::int64_t kc =
      std::clamp<std::int64_t>(round_down(floats(r.l1_share * static_cast<double>(l1)) / per_k, r.kc_step), r.kc_step,
                               round_down(1024, r.kc_step));
  const std::int64_t nc_l2 =
      std::clamp<std::int64_t>(round_down(floats(r.l2_share * static_cast<double>(l2)) / kc, r.nr), r.nr, 4096);
  const std::int64_t panel = floats(static_cast<double>(l3) / 4.0) / kc;
  const std::int64_t mc_l3 = std::clamp<std::int64_t>(round_down(panel, r.mr), 16 * r.mr, round_down(3072, r.mr));
  const std::int64_t nc_l3 = std::clamp<std::int64_t>(round_down(panel, r.nr), 8 * r.nr, 4096);
  BlockSizes b{};
  b.mr = r.mr;
  b.nr = r.nr;
  b.kc = static_cast<int>(kc);
  b.nc_l2 = static_cast<int>(nc_l2);
  b.mc_l3 = static_cast<int>(mc_l3);
  b.nc_l3 = static_cast<int>(nc_l3);
  b.direct_a_max_cols = r.direct_a_max_b_tiles * r.nr;
  b.direct_b_max_rows = r.direct_b_max_a_tiles * r.mr;
  b.fuse_b_max_a_bytes = l2 / 2;
  b.swapped_store_cost = r.swapped_store_cost;
  return b;
}

BlockSizes apply_block_override(BlockSizes b, const char* text) {
  if (text == nullptr || *text == '\0') return b;
  for_each_env_setting("TESSERA_BLOCKS", text, "kc=256,nc_l2=160,mc_l3=3072,nc_l3=4096",
                       [&](const std::string& name, const std::string& value) -> std::string {
                         std::size_t used = 0;
                         long v = 0;
                         try {
                           v = std::stol(value, &used);
                         } catch (const std::exception&) {
                           used = 0;
                         }
                         if (used == 0 || used != value.size() || v < 1 || v > 1 << 20)
                           return "'" + value + "' is not a size";
                         const auto multiple_of = [&](int step, const char* what) -> std::string {
                           if (v % step == 0) return {};
                           return name + "=" + value + " is not a multiple of " + what + " (" + std::to_string(step) +
                                  ")";
                         };
                         const int size = static_cast<int>(v);
                         if (name == "kc") {
                           b.kc = size;
                         } else if (name == "nc_l2") {
                           if (auto why = multiple_of(b.nr, "nr"); !why.empty()) return why;
                           b.nc_l2 = size;
                         } else if (name == "mc_l3") {
                           if (auto why = multiple_of(b.mr, "mr"); !why.empty()) return why;
                           b.mc_l3 = size;
                         } else if (name == "nc_l3") {
                           if (auto why = multiple_of(b.nr, "nr"); !why.empty()) return why;
                           b.nc_l3 = size;
                         } else if (name == "swap_cost") {
                           b.swapped_store_cost = size;
                         } else {
                           return "unknown size '" + name + "' (kc, nc_l2, mc_l3, nc_l3 or swap_cost)";
                         }
                         return {};
                       });
  return b;
}

BlockSizes block_sizes_for(const BlockRules& rules) {
  return apply_block_override(derive_block_sizes(rules, cpu_info().caches), std::getenv("TESSERA_BLOCKS"));
}

}  // namespace tessera::detail
