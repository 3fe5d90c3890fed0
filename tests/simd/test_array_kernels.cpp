// The per-ISA array operations against plain scalar loops, exactly: compression of a row into
// (index, value) pairs (AVX-512 compresses in registers, AVX2 permutes by a table), the matrix
// transpose and the byte-to-float conversion, for lengths around every vector width.
#define BOOST_TEST_MODULE array_kernels
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "simd/array_kernels.hpp"
#include "support/isa.hpp"

using namespace tessera;
namespace bdata = boost::unit_test::data;

BOOST_DATA_TEST_CASE(compress_keeps_the_nonzeros_in_order, bdata::make(test::supported_isas()), isa) {
  test::IsaScope scope(isa);
  const detail::ArrayKernels& ak = detail::active_array_kernels();
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (double density : {0.0, 0.2, 0.5, 1.0}) {
    std::bernoulli_distribution nonzero(density);
    for (std::int64_t n = 0; n <= 70; ++n) {
      std::vector<float> x(static_cast<std::size_t>(n));
      for (float& v : x) v = nonzero(rng) ? value(rng) : 0.0f;
      // NaN counts as nonzero (it must reach the product); -0.0 is zero.
      if (n > 3) x[3] = std::numeric_limits<float>::quiet_NaN();
      if (n > 5) x[5] = -0.0f;
      std::vector<std::int32_t> index(static_cast<std::size_t>(n + 16), -1);
      std::vector<float> kept(static_cast<std::size_t>(n + 16));
      const std::int32_t base = 1000;
      const std::int64_t count = ak.compress(x.data(), n, base, index.data(), kept.data());
      std::int64_t expected = 0;
      for (std::int64_t p = 0; p < n; ++p) {
        const float v = x[static_cast<std::size_t>(p)];
        if (v == 0.0f) continue;
        BOOST_REQUIRE_LT(expected, count);
        BOOST_TEST(index[static_cast<std::size_t>(expected)] == base + p, "n " << n << " entry " << expected);
        const float got = kept[static_cast<std::size_t>(expected)];
        BOOST_TEST((got == v || (std::isnan(got) && std::isnan(v))), "n " << n << " entry " << expected);
        ++expected;
      }
      BOOST_TEST(count == expected, "n " << n << " density " << density);
    }
  }
}

BOOST_DATA_TEST_CASE(transpose_and_bytes_to_floats_are_exact, bdata::make(test::supported_isas()), isa) {
  test::IsaScope scope(isa);
  const detail::ArrayKernels& ak = detail::active_array_kernels();
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (std::int64_t rows : {1, 7, 8, 9, 17, 33}) {
    for (std::int64_t cols : {1, 3, 8, 12, 16, 31}) {
      const std::int64_t lds = cols + 2, ldd = rows + 1;
      std::vector<float> src(static_cast<std::size_t>(rows * lds)), dst(static_cast<std::size_t>(cols * ldd), 7.0f);
      for (float& v : src) v = value(rng);
      ak.transpose(src.data(), rows, cols, lds, dst.data(), ldd);
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < cols; ++c) {
          BOOST_REQUIRE(dst[static_cast<std::size_t>(c * ldd + r)] == src[static_cast<std::size_t>(r * lds + c)]);
        }
      }
      for (std::int64_t c = 0; c < cols; ++c) BOOST_TEST(dst[static_cast<std::size_t>(c * ldd + rows)] == 7.0f);
    }
  }
  for (std::int64_t n : {0, 1, 7, 8, 15, 16, 17, 33, 784}) {
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 37 + 11);
    std::vector<float> out(static_cast<std::size_t>(n) + 1, -1.0f);
    ak.bytes_to_floats(bytes.data(), n, 1.0f / 255.0f, out.data());
    for (std::size_t i = 0; i < bytes.size(); ++i)
      BOOST_REQUIRE(out[i] == static_cast<float>(bytes[i]) * (1.0f / 255.0f));
    BOOST_TEST(out[static_cast<std::size_t>(n)] == -1.0f);
  }
}
