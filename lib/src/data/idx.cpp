// The IDX reader: zlib's gz* functions read raw and gzip files alike; the header is checked before any
// data is kept, and data is read in chunks so that a header claiming billions of images costs nothing.
#include "tessera/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>

namespace tessera::data {

namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw DataError(file.string() + ": " + what);
}

struct GzClose {
  void operator()(gzFile f) const noexcept { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzClose>;

// Reads up to n bytes; returns how many were read. Throws on a decompression error.
std::size_t read_some(gzFile f, const std::filesystem::path& file, void* out, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
    const int got = gzread(f, static_cast<char*>(out) + done, chunk);
    // A compressed file cut inside its trailer reads to the end with 0 and only an error code.
    int code = Z_OK;
    const char* message = gzerror(f, &code);
    if (got < 0 || (code != Z_OK && code != Z_STREAM_END)) {
      fail(file, std::string("corrupt or truncated compressed data (") + message + ")");
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

std::uint32_t big_endian(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

}  // namespace

IdxArray read_idx(const std::filesystem::path& file) { return read_idx(file, IdxPart{}); }

IdxPart::Range IdxPart::of(std::int64_t items) const {
  if (count < 1 || index < 0 || index >= count || limit < 0 || items < 0) {
    throw std::invalid_argument("part " + std::to_string(index) + " of " + std::to_string(count) + " (limit " +
                                std::to_string(limit) + ") is not a part");
  }
  const std::int64_t kept = limit > 0 ? std::min(items, limit) : items;
  // Part i: ceil((kept − i) / count) items, the parts in order.
  const auto share = [&](std::int64_t i) { return kept > i ? (kept - i + count - 1) / count : 0; };
  Range r;
  for (std::int64_t i = 0; i < index; ++i) r.first += share(i);
  r.count = share(index);
  return r;
}

IdxArray read_idx(const std::filesystem::path& file, const IdxPart& part) {
  part.of(0);  // a part, checked before the file is opened
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) fail(file, "no such file");
  GzFile f(gzopen(file.c_str(), "rb"));
  if (!f) fail(file, "cannot open");

  std::array<std::uint8_t, 4> magic{};
  if (read_some(f.get(), file, magic.data(), 4) != 4) fail(file, "truncated: shorter than the 4-byte IDX magic number");
  if (magic[0] != 0 || magic[1] != 0)
    fail(file, "not an IDX file (the magic number does not start with two zero bytes)");
  if (magic[2] != 0x08) {
    fail(file, "IDX element type 0x" + std::to_string(magic[2]) + " is not supported (only unsigned bytes, 0x08)");
  }
  const int rank = magic[3];
  if (rank < 1 || rank > 4) fail(file, "IDX rank " + std::to_string(rank) + " is not supported (1 to 4)");

  IdxArray out;
  std::array<std::uint8_t, 16> header{};
  const std::size_t header_bytes = static_cast<std::size_t>(rank) * 4;
  if (read_some(f.get(), file, header.data(), header_bytes) != header_bytes) {
    fail(file, "truncated: the header's " + std::to_string(rank) + " extents are incomplete");
  }
  std::uint64_t expected = 1;
  for (int i = 0; i < rank; ++i) {
    const std::uint32_t extent = big_endian(header.data() + 4 * i);
    if (extent == 0) fail(file, "extent " + std::to_string(i) + " is 0");
    out.dims.push_back(static_cast<std::int64_t>(extent));
    expected *= extent;
    // 2^40 bytes: far beyond any data set this reader is for, and no overflow in the product.
    if (expected > (std::uint64_t{1} << 40)) fail(file, "the header's extents describe more than 1 TiB of data");
  }

  // The part's items: [first, first + items) of the first `limit` (all when 0).
  const auto all = static_cast<std::uint64_t>(out.dims[0]);
  const std::uint64_t item_bytes = expected / all;
  const IdxPart::Range range = part.of(static_cast<std::int64_t>(all));
  const auto first = static_cast<std::uint64_t>(range.first), items = static_cast<std::uint64_t>(range.count);
  const bool whole = first == 0 && items == all;
  if (first > 0) {
    const std::uint64_t skip = first * item_bytes;
    if (gzseek(f.get(), static_cast<z_off_t>(skip), SEEK_CUR) < 0) {
      fail(file, "truncated: cannot reach byte " + std::to_string(skip) + " of its data");
    }
  }
  const std::uint64_t wanted = items * item_bytes;

  // Chunked reading: memory grows with the data present, not with what the header claims.
  constexpr std::size_t kChunk = std::size_t{1} << 22;
  while (out.data.size() < wanted) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, wanted - out.data.size()));
    const std::size_t have = out.data.size();
    out.data.resize(have + want);
    const std::size_t got = read_some(f.get(), file, out.data.data() + have, want);
    if (got < want) {
      fail(file, "truncated: the header promises " + std::to_string(expected) + " bytes of data, the file has " +
                     std::to_string(first * item_bytes + have + got));
    }
  }
  if (whole) {
    std::uint8_t extra = 0;
    if (read_some(f.get(), file, &extra, 1) != 0) {
      fail(file, "the file continues past the " + std::to_string(expected) + " bytes of data its header describes");
    }
  }
  out.dims[0] = static_cast<std::int64_t>(items);
  return out;
}

std::filesystem::path find_idx_file(const std::filesystem::path& dir, const std::string& name) {
  std::vector<std::string> candidates{name};
  // "train-images-idx3-ubyte" is also spelled "train-images.idx3-ubyte".
  if (const auto dash = name.rfind("-idx"); dash != std::string::npos) {
    candidates.push_back(name.substr(0, dash) + "." + name.substr(dash + 1));
  }
  const std::size_t plain = candidates.size();
  for (std::size_t i = 0; i < plain; ++i) candidates.push_back(candidates[i] + ".gz");
  std::string tried;
  for (const auto& c : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(dir / c, ec)) return dir / c;
    tried += (tried.empty() ? "" : ", ") + c;
  }
  throw DataError(dir.string() + ": no " + name + " file (looked for " + tried +
                  "); run scripts/fetch-mnist, or pass the folder that holds the data");
}

}  // namespace tessera::data
