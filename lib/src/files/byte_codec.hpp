// The byte-level pieces of Tessera's binary files (models and checkpoints): little-endian writing,
// bounds-checked reading that names the file in every error, CRC-32, whole-file reading, and the
// atomic write (temporary file, fsync, rename) that never leaves a half-written file in place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tessera::detail {

// Little-endian integers, whatever the host's byte order.
template <class T>
void store_le(std::vector<std::uint8_t>& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

template <class T>
T load_le(const std::uint8_t* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(T{p[i]} << (8 * i));
  return v;
}

class ByteWriter {
 public:
  void bytes(const void* p, std::size_t n);
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u32(std::uint32_t v) { store_le(out_, v); }
  void u64(std::uint64_t v) { store_le(out_, v); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void f32(float v);
  void f64(double v);
  void string(const std::string& s);
  // u64 count, then the floats' bits.
  void floats(const float* p, std::size_t n);
  // u32 count, then (key, value) strings.
  void string_map(const std::map<std::string, std::string>& map);
  // Appends the CRC-32 of everything written so far.
  void seal();
  std::vector<std::uint8_t>& buffer() { return out_; }

 private:
  std::vector<std::uint8_t> out_;
};

// Reads [data, data + size) of `file`; every failure throws ModelFileError("<file>: <what>").
class ByteReader {
 public:
  ByteReader(const std::filesystem::path& file, const std::uint8_t* data, std::size_t size)
      : file_(file), p_(data), end_(data + size) {}

  [[noreturn]] void fail(const std::string& what) const;
  std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }
  void need(std::size_t n, const char* what) const;
  std::uint8_t u8(const char* what) { return next<std::uint8_t>(what); }
  std::uint32_t u32(const char* what) { return next<std::uint32_t>(what); }
  std::uint64_t u64(const char* what) { return next<std::uint64_t>(what); }
  std::int64_t i64(const char* what) { return static_cast<std::int64_t>(u64(what)); }
  float f32(const char* what);
  double f64(const char* what);
  std::string string(const char* what);
  std::map<std::string, std::string> string_map(const char* what);
  // A u64 count of floats, checked against what is left, then the floats.
  std::vector<float> floats(const char* what);
  // A count of items of at least `min_bytes` each, checked against what is left of the file before
  // anything is allocated for them.
  std::uint64_t count(std::uint64_t n, std::size_t min_bytes, const char* what) const;
  const std::uint8_t* take(std::size_t n) {
    const std::uint8_t* p = p_;
    p_ += n;
    return p;
  }
  const std::filesystem::path& file() const { return file_; }

 private:
  template <class T>
  T next(const char* what) {
    need(sizeof(T), what);
    return load_le<T>(take(sizeof(T)));
  }

  const std::filesystem::path& file_;
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

std::uint32_t crc32_of(const std::uint8_t* data, std::size_t n);

// The whole of `file` (ModelFileError when it is missing or unreadable).
std::vector<std::uint8_t> read_file(const std::filesystem::path& file);

// Checks that `bytes` starts with `magic` (an 8-byte tag), then a format version in [1, max_version],
// and ends with the CRC-32 of what precedes it. Returns the version and a reader of the body between
// the version and the CRC. `kind` names the file kind in errors ("Tessera model file").
struct SealedBody {
  std::uint32_t version;
  ByteReader body;
};
SealedBody open_sealed(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes, const char* magic,
                       std::uint32_t max_version, const std::string& kind);

// Writes all of `bytes` to `file` through a temporary file in the same folder, flushed to disk and then
// renamed over `file`: a failure at any point leaves any previous file intact. Throws ModelFileError.
void write_atomically(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes);

// For tests: called with the temporary file's path after it is written and closed, just before the
// rename; a hook that throws stands for a save interrupted there. Empty by default.
void set_before_rename_hook(std::function<void(const std::filesystem::path& temp)> hook);

}  // namespace tessera::detail
