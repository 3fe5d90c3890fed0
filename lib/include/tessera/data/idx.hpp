// Reading IDX files (the MNIST format): unsigned-byte arrays of any rank, raw or gzip-compressed,
// checked against their header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera::data {

// A data file that cannot be used: the message names the file and what is wrong with it.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The contents of an IDX file of unsigned bytes: extents (outermost first) and the data, row-major.
struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;
};

// Part `index` of `count` contiguous parts of an IDX file's items (its first extent), after keeping
// only the first `limit` items (n of them) when limit > 0: what one process of a data-parallel run
// reads. Part i holds ceil((n − i) / count) items, the parts in order (sizes differ by at most one,
// the larger first): as many as the positions ≡ i (mod count) of an epoch, which is how the Trainer
// deals the global batches out.
struct IdxPart {
  std::int64_t index = 0;
  std::int64_t count = 1;
  std::int64_t limit = 0;

  // The part's items of `items` in all: [first, first + count). Throws std::invalid_argument for a
  // part that is not one (count < 1, index outside [0, count), limit < 0).
  struct Range {
    std::int64_t first = 0, count = 0;
  };
  Range of(std::int64_t items) const;
};

// Reads `file`: raw IDX, or gzip-compressed IDX (recognised by its content, not its name). Checks the
// magic number (0x00 0x00 0x08 rank), the extents and that the data holds exactly their product;
// memory grows with the data actually present (in 4 MiB steps), never with what the header claims.
// Throws DataError naming the file otherwise.
IdxArray read_idx(const std::filesystem::path& file);
// Reads only the items of `part` (dims[0] is then their count): the items before it are skipped
// (sought past in a raw file; decompressed and dropped in a gzip one), those after it not read, so the
// file is checked to hold the part, not all of its data. Throws std::invalid_argument for a bad part.
IdxArray read_idx(const std::filesystem::path& file, const IdxPart& part);

// Finds the IDX file for `name` (e.g. "train-images-idx3-ubyte") in `dir` under the usual spellings:
// the name itself, with '.' instead of the '-' before "idx" ("train-images.idx3-ubyte"), each
// optionally with ".gz". Throws DataError listing what was tried when none exists.
std::filesystem::path find_idx_file(const std::filesystem::path& dir, const std::string& name);

}  // namespace tessera::data
