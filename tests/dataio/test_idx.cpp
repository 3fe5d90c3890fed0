// The IDX reader on good files (raw and gzip, every usual file name) and on bad ones: truncated at
// every byte, wrong magic or type, zero or absurd extents, trailing bytes, corrupt compression.
#define BOOST_TEST_MODULE idx
#include <boost/test/unit_test.hpp>

#include <numeric>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "tessera/data/idx.hpp"

using namespace tessera;
using tessera::data::DataError;
using tessera::test::expect_error;
using tessera::test::idx_bytes;
using tessera::test::TempDir;

namespace {
std::vector<std::uint8_t> pixels(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  std::iota(v.begin(), v.end(), std::uint8_t{0});
  return v;
}
}  // namespace

BOOST_AUTO_TEST_CASE(reads_raw_and_gzip_files) {
  TempDir dir;
  const auto data = pixels(3 * 4 * 5);
  const auto bytes = idx_bytes({3, 4, 5}, data);
  test::write_bytes(dir / "raw", bytes);
  test::write_gzip(dir / "compressed", bytes);
  for (const char* name : {"raw", "compressed"}) {
    const data::IdxArray a = data::read_idx(dir / name);
    BOOST_TEST(a.dims == (std::vector<std::int64_t>{3, 4, 5}), boost::test_tools::per_element());
    BOOST_TEST(a.data == data, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(finds_the_usual_file_names) {
  for (const char* name : {"train-images-idx3-ubyte", "train-images.idx3-ubyte", "train-images-idx3-ubyte.gz",
                           "train-images.idx3-ubyte.gz"}) {
    TempDir dir;
    test::write_bytes(dir / name, idx_bytes({1}, {7}));
    BOOST_TEST(data::find_idx_file(dir.path(), "train-images-idx3-ubyte") == dir / name);
  }
  TempDir empty;
  expect_error<DataError>([&] { data::find_idx_file(empty.path(), "train-labels-idx1-ubyte"); },
                          "no train-labels-idx1-ubyte file (looked for train-labels-idx1-ubyte, "
                          "train-labels.idx1-ubyte, train-labels-idx1-ubyte.gz, train-labels.idx1-ubyte.gz)");
}

BOOST_AUTO_TEST_CASE(every_truncation_is_a_clear_error) {
  TempDir dir;
  const auto bytes = idx_bytes({2, 3, 3}, pixels(18));
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    const std::vector<std::uint8_t> part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    for (bool gzip : {false, true}) {
      const auto file = dir / (gzip ? "t.gz" : "t");
      gzip ? test::write_gzip(file, part) : test::write_bytes(file, part);
      expect_error<DataError>([&] { data::read_idx(file); }, "truncated");
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_headers_and_contents_are_clear_errors) {
  TempDir dir;
  const auto check = [&](const std::vector<std::uint8_t>& bytes, const std::string& fragment) {
    test::write_bytes(dir / "bad", bytes);
    expect_error<DataError>([&] { data::read_idx(dir / "bad"); }, fragment);
    test::write_gzip(dir / "bad.gz", bytes);
    expect_error<DataError>([&] { data::read_idx(dir / "bad.gz"); }, fragment);
  };
  auto bytes = idx_bytes({2, 2}, pixels(4));
  bytes[0] = 0x12;
  check(bytes, "not an IDX file");
  bytes = idx_bytes({2, 2}, pixels(4));
  bytes[2] = 0x0D;  // float data
  check(bytes, "element type");
  bytes[2] = 0x08;
  bytes[3] = 0;
  check(bytes, "IDX rank 0");
  check(idx_bytes({2, 0}, {}), "extent 1 is 0");
  check(idx_bytes({2, 2}, pixels(5)), "continues past the 4 bytes");
  // A header claiming 4 billion images of 4 billion pixels: refused before any allocation.
  check(idx_bytes({0xFFFFFFFF, 0xFFFFFFFF}, pixels(10)), "more than 1 TiB");
  // Two billion images of 784 pixels, with ten bytes present: read in chunks, so it fails fast.
  check(idx_bytes({1000000000u, 784}, pixels(10)), "truncated: the header promises 784000000000 bytes");
  expect_error<DataError>([&] { data::read_idx(dir / "missing"); }, "missing: no such file");
}

BOOST_AUTO_TEST_CASE(corrupt_compressed_data_is_a_clear_error) {
  TempDir dir;
  test::write_gzip(dir / "good.gz", idx_bytes({50, 50}, pixels(2500)));
  auto bytes = test::read_bytes(dir / "good.gz");
  for (std::size_t i = 20; i < bytes.size() - 8; i += 7) bytes[i] ^= 0x5A;
  test::write_bytes(dir / "corrupt.gz", bytes);
  expect_error<DataError>([&] { data::read_idx(dir / "corrupt.gz"); }, "corrupt.gz");
  // The compressed file itself cut short, at every length.
  const auto good = test::read_bytes(dir / "good.gz");
  for (std::size_t cut = 1; cut < good.size(); ++cut) {
    test::write_bytes(dir / "cut.gz",
                      std::vector<std::uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)));
    expect_error<DataError>([&] { data::read_idx(dir / "cut.gz"); }, "cut.gz");
  }
}

BOOST_AUTO_TEST_CASE(parts_read_only_their_items_and_tile_the_file) {
  TempDir dir;
  const std::int64_t items = 10, item_bytes = 6;
  const auto data = pixels(static_cast<std::size_t>(items * item_bytes));
  const auto bytes = idx_bytes({10, 2, 3}, data);
  test::write_bytes(dir / "raw", bytes);
  test::write_gzip(dir / "compressed", bytes);
  for (const char* name : {"raw", "compressed"}) {
    for (std::int64_t limit : {0, 7}) {
      for (std::int64_t count : {1, 2, 3, 4}) {
        BOOST_TEST_CONTEXT(name << ", limit " << limit << ", " << count << " parts") {
          std::vector<std::uint8_t> joined;
          const std::int64_t kept = limit > 0 ? limit : items;
          for (std::int64_t i = 0; i < count; ++i) {
            const data::IdxArray a = data::read_idx(dir / name, data::IdxPart{i, count, limit});
            // Part i holds ceil((kept - i) / count) items: the epoch positions the Trainer deals it.
            BOOST_TEST(a.dims[0] == (kept - i + count - 1) / count);
            BOOST_TEST(a.dims[1] == 2);
            joined.insert(joined.end(), a.data.begin(), a.data.end());
          }
          const std::vector<std::uint8_t> expected(data.begin(), data.begin() + kept * item_bytes);
          BOOST_TEST(joined == expected, boost::test_tools::per_element());
        }
      }
    }
  }
  test::expect_invalid([&] { data::read_idx(dir / "raw", data::IdxPart{2, 2, 0}); }, "is not a part");
  test::expect_invalid([&] { data::read_idx(dir / "raw", data::IdxPart{0, 0, 0}); }, "is not a part");
  // A part still checks what it reads: the file cut inside it is an error.
  test::write_bytes(dir / "cut", std::vector<std::uint8_t>(bytes.begin(), bytes.end() - 10));
  expect_error<data::DataError>([&] { data::read_idx(dir / "cut", data::IdxPart{1, 2, 0}); }, "truncated");
}
