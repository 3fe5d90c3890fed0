// Byte-level reading and writing of Tessera's binary files; CRC-32 from zlib.
#include "files/byte_codec.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>

#include "tessera/serialize.hpp"

namespace tessera::detail {

namespace {
std::function<void(const std::filesystem::path&)>& before_rename_hook() {
  static std::function<void(const std::filesystem::path&)> hook;
  return hook;
}

std::string system_error(const std::string& what) { return what + ": " + std::strerror(errno); }

// Temporary files of earlier saves of `file` by processes that no longer run (killed mid-save): a
// run checkpointing every few steps would otherwise collect them. Best effort, silent.
void remove_stale_temporaries(const std::filesystem::path& file) {
  const std::string prefix = file.filename().string() + ".tmp-";
  std::error_code ec;
  const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  try {
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string digits = name.substr(prefix.size());
      if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
      const auto pid = static_cast<pid_t>(std::stol(digits));
      if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove(entry.path(), ec);
    }
  } catch (const std::exception&) {
    // A folder that changes or cannot be listed: the leftovers stay.
  }
}
}  // namespace

void ByteWriter::bytes(const void* p, std::size_t n) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  out_.insert(out_.end(), b, b + n);
}
void ByteWriter::f32(float v) { u32(std::bit_cast<std::uint32_t>(v)); }
void ByteWriter::f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
void ByteWriter::string(const std::string& s) {
  u32(static_cast<std::uint32_t>(s.size()));
  bytes(s.data(), s.size());
}
void ByteWriter::floats(const float* p, std::size_t n) {
  u64(n);
  if constexpr (std::endian::native == std::endian::little) {
    bytes(p, 4 * n);  // already the file's byte order: millions of floats in one copy
  } else {
    for (std::size_t i = 0; i < n; ++i) f32(p[i]);
  }
}
void ByteWriter::string_map(const std::map<std::string, std::string>& map) {
  u32(static_cast<std::uint32_t>(map.size()));
  for (const auto& [key, value] : map) {
    string(key);
    string(value);
  }
}
void ByteWriter::seal() { u32(crc32_of(out_.data(), out_.size())); }

void ByteReader::fail(const std::string& what) const { throw ModelFileError(file_.string() + ": " + what); }

void ByteReader::need(std::size_t n, const char* what) const {
  if (left() < n) fail(std::string("truncated in the ") + what);
}

float ByteReader::f32(const char* what) { return std::bit_cast<float>(u32(what)); }
double ByteReader::f64(const char* what) { return std::bit_cast<double>(u64(what)); }

std::string ByteReader::string(const char* what) {
  const std::uint32_t n = u32(what);
  need(n, what);
  std::string s(reinterpret_cast<const char*>(p_), n);
  p_ += n;
  return s;
}

std::map<std::string, std::string> ByteReader::string_map(const char* what) {
  std::map<std::string, std::string> out;
  const std::uint64_t entries = count(u32(what), 8, what);
  for (std::uint64_t i = 0; i < entries; ++i) {
    std::string key = string(what);
    out[key] = string(what);
  }
  return out;
}

std::vector<float> ByteReader::floats(const char* what) {
  const std::uint64_t n = count(u64(what), 4, what);
  std::vector<float> out(static_cast<std::size_t>(n));
  const std::uint8_t* p = take(n * 4);
  if constexpr (std::endian::native == std::endian::little) {
    if (!out.empty()) std::memcpy(out.data(), p, 4 * out.size());  // memcpy of nothing from null is UB
  } else {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::bit_cast<float>(load_le<std::uint32_t>(p + 4 * i));
  }
  return out;
}

std::uint64_t ByteReader::count(std::uint64_t n, std::size_t min_bytes, const char* what) const {
  if (n > left() / min_bytes) {
    fail(std::string("the ") + what + " count " + std::to_string(n) + " does not fit in the file's " +
         std::to_string(left()) + " remaining bytes");
  }
  return n;
}

std::uint32_t crc32_of(const std::uint8_t* data, std::size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const uInt chunk = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    crc = crc32(crc, data, chunk);
    data += chunk;
    n -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) throw ModelFileError(file.string() + ": no such file");
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) throw ModelFileError(file.string() + ": cannot read its size: " + ec.message());
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::ifstream in(file, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()))) {
    throw ModelFileError(file.string() + ": cannot read");
  }
  return bytes;
}

SealedBody open_sealed(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes, const char* magic,
                       std::uint32_t max_version, const std::string& kind) {
  constexpr std::size_t kMagicBytes = 8;
  ByteReader r(file, bytes.data(), bytes.size());
  if (bytes.size() < kMagicBytes || std::memcmp(bytes.data(), magic, kMagicBytes) != 0) {
    r.fail("not a " + kind + " (no " + std::string(magic, kMagicBytes) + " magic number)");
  }
  r.take(kMagicBytes);
  const std::uint32_t version = r.u32("format version");
  if (version == 0 || version > max_version) {
    r.fail("format version " + std::to_string(version) + " is not one this build reads (1 to " +
           std::to_string(max_version) + ")");
  }
  if (bytes.size() < kMagicBytes + 8) r.fail("truncated before the checksum");
  const std::size_t body = bytes.size() - 4;
  if (crc32_of(bytes.data(), body) != load_le<std::uint32_t>(bytes.data() + body)) {
    r.fail("checksum mismatch: the file is corrupt or truncated");
  }
  return SealedBody{version, ByteReader(file, bytes.data() + kMagicBytes + 4, body - kMagicBytes - 4)};
}

void write_atomically(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes) {
  const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw ModelFileError(file.string() + ": cannot save: the folder " + dir.string() + " does not exist");
  }
  const std::filesystem::path temp = file.string() + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw ModelFileError(file.string() + ": cannot save: " + system_error("cannot create " + temp.string()));
  const auto fail = [&](const std::string& message) {
    std::filesystem::remove(temp, ec);
    throw ModelFileError(file.string() + ": cannot save: " + message);
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string message = system_error("writing " + temp.string());
      ::close(fd);
      fail(message);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const std::string message = system_error("flushing " + temp.string());
    ::close(fd);
    fail(message);
  }
  if (::close(fd) != 0) fail(system_error("closing " + temp.string()));
  if (const auto& hook = before_rename_hook()) {
    try {
      hook(temp);
    } catch (const std::exception& e) {
      fail(std::string("interrupted before the rename: ") + e.what());
    }
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) fail(system_error("renaming " + temp.string()));
  remove_stale_temporaries(file);
}

void set_before_rename_hook(std::function<void(const std::filesystem::path& temp)> hook) {
  before_rename_hook() = std::move(hook);
}

}  // namespace tessera::detail
