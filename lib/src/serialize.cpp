// Model files: encoding to and decoding from a byte buffer with every read bounds-checked, CRC-32 from
// zlib, and the atomic write (temporary file, fsync, rename).
#include "tessera/serialize.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <vector>

namespace tessera {

namespace {

constexpr char kMagic[8] = {'T', 'S', 'R', 'M', 'O', 'D', 'E', 'L'};

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

class Writer {
 public:
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  void u32(std::uint32_t v) { store_le(out_, v); }
  void u64(std::uint64_t v) { store_le(out_, v); }
  void string(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  std::vector<std::uint8_t>& buffer() { return out_; }

 private:
  std::vector<std::uint8_t> out_;
};

class Reader {
 public:
  Reader(const std::filesystem::path& file, const std::uint8_t* data, std::size_t size)
      : file_(file), p_(data), end_(data + size) {}

  [[noreturn]] void fail(const std::string& what) const { throw ModelFileError(file_.string() + ": " + what); }
  std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }
  void need(std::size_t n, const char* what) const {
    if (left() < n) fail(std::string("truncated in the ") + what);
  }
  std::uint32_t u32(const char* what) { return next<std::uint32_t>(what); }
  std::uint64_t u64(const char* what) { return next<std::uint64_t>(what); }
  std::string string(const char* what) {
    const std::uint32_t n = u32(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }
  // A count of items of at least `min_bytes` each, checked against what is left of the file before
  // anything is allocated for them.
  std::uint64_t count(std::uint64_t n, std::size_t min_bytes, const char* what) const {
    if (n > left() / min_bytes) {
      fail(std::string("the ") + what + " count " + std::to_string(n) + " does not fit in the file's " +
           std::to_string(left()) + " remaining bytes");
    }
    return n;
  }
  template <class T>
  T next(const char* what) {
    need(sizeof(T), what);
    return load_le<T>(take(sizeof(T)));
  }
  const std::uint8_t* take(std::size_t n) {
    const std::uint8_t* p = p_;
    p_ += n;
    return p;
  }

 private:
  const std::filesystem::path& file_;
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

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

std::string system_error(const std::string& what) { return what + ": " + std::strerror(errno); }

// Writes all of `bytes` to `file` through a temporary file in the same folder.
void write_atomically(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes) {
  const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw ModelFileError(file.string() + ": cannot save: the folder " + dir.string() + " does not exist");
  }
  const std::filesystem::path temp = file.string() + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw ModelFileError(file.string() + ": cannot save: " + system_error("cannot create " + temp.string()));
  const auto fail = [&](const std::string& what) {
    const std::string message = system_error(what);
    ::close(fd);
    std::filesystem::remove(temp, ec);
    throw ModelFileError(file.string() + ": cannot save: " + message);
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("writing " + temp.string());
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("flushing " + temp.string());
  if (::close(fd) != 0) {
    std::filesystem::remove(temp, ec);
    throw ModelFileError(file.string() + ": cannot save: " + system_error("closing " + temp.string()));
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    const std::string message = system_error("renaming " + temp.string());
    std::filesystem::remove(temp, ec);
    throw ModelFileError(file.string() + ": cannot save: " + message);
  }
}

}  // namespace

void save_model(const std::filesystem::path& file, Sequential& net, const ModelMetadata& metadata) {
  Writer w;
  w.bytes(kMagic, sizeof kMagic);
  w.u32(kModelFormatVersion);
  w.u32(static_cast<std::uint32_t>(metadata.size()));
  for (const auto& [key, value] : metadata) {
    w.string(key);
    w.string(value);
  }
  // Format 2: the input shape the network was built for (rank 0: its first layer fixes it).
  const auto& input = net.fixed_in_shape();
  w.u32(input ? static_cast<std::uint32_t>(input->rank()) : 0U);
  if (input) {
    for (int i = 0; i < input->rank(); ++i) w.u64(static_cast<std::uint64_t>((*input)[i]));
  }
  w.u32(static_cast<std::uint32_t>(net.size()));
  for (std::size_t i = 0; i < net.size(); ++i) {
    const LayerSpec spec = net.layer(i).spec();
    w.string(spec.kind);
    w.u32(static_cast<std::uint32_t>(spec.args.size()));
    for (std::int64_t a : spec.args) w.u64(static_cast<std::uint64_t>(a));
  }
  const Tensor params = net.parameters();
  w.u64(static_cast<std::uint64_t>(params.size()));
  for (std::int64_t i = 0; i < params.size(); ++i) w.u32(std::bit_cast<std::uint32_t>(params[i]));
  auto& bytes = w.buffer();
  const std::uint32_t crc = crc32_of(bytes.data(), bytes.size());
  w.u32(crc);
  write_atomically(file, bytes);
}

LoadedModel load_model(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) throw ModelFileError(file.string() + ": no such file");
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) throw ModelFileError(file.string() + ": cannot read its size: " + ec.message());
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::ifstream in(file, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()))) {
    throw ModelFileError(file.string() + ": cannot read");
  }

  Reader r(file, bytes.data(), bytes.size());
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    r.fail("not a Tessera model file (no TSRMODEL magic number)");
  }
  r.take(sizeof kMagic);
  const std::uint32_t version = r.u32("format version");
  if (version == 0 || version > kModelFormatVersion) {
    r.fail("format version " + std::to_string(version) + " is not one this build reads (1 to " +
           std::to_string(kModelFormatVersion) + ")");
  }
  if (bytes.size() < sizeof kMagic + 8) r.fail("truncated before the checksum");
  const std::size_t body = bytes.size() - 4;
  if (crc32_of(bytes.data(), body) != load_le<std::uint32_t>(bytes.data() + body)) {
    r.fail("checksum mismatch: the file is corrupt or truncated");
  }
  Reader b(file, bytes.data() + sizeof kMagic + 4, body - sizeof kMagic - 4);

  LoadedModel out;
  const std::uint64_t entries = b.count(b.u32("metadata"), 8, "metadata entry");
  for (std::uint64_t i = 0; i < entries; ++i) {
    std::string key = b.string("metadata");
    out.metadata[key] = b.string("metadata");
  }
  if (version >= 2) {
    const std::uint32_t rank = b.u32("input shape");
    // One less than a Shape holds: batches add an extent in front.
    if (rank >= static_cast<std::uint32_t>(Shape::kMaxRank)) {
      b.fail("an input shape of rank " + std::to_string(rank) + " (at most " + std::to_string(Shape::kMaxRank - 1) +
             ")");
    }
    std::int64_t e[3] = {1, 1, 1};
    double elements = 1.0;  // in double: the product of three extents could overflow an integer
    for (std::uint32_t i = 0; i < rank; ++i) {
      const std::uint64_t extent = b.u64("input shape");
      if (extent == 0 || extent > (std::uint64_t{1} << 31)) {
        b.fail("input extent " + std::to_string(extent) + " out of range");
      }
      e[i] = static_cast<std::int64_t>(extent);
      elements *= static_cast<double>(extent);
    }
    if (elements > 0x1p32) b.fail("an input of more than 2^32 values per example");
    if (rank == 1) out.network = Sequential(Shape{e[0]});
    if (rank == 2) out.network = Sequential(Shape{e[0], e[1]});
    if (rank == 3) out.network = Sequential(Shape{e[0], e[1], e[2]});
  }
  const std::uint64_t layers = b.count(b.u32("architecture"), 8, "layer");
  if (layers == 0) b.fail("the architecture has no layers");
  for (std::uint64_t i = 0; i < layers; ++i) {
    LayerSpec spec;
    spec.kind = b.string("architecture");
    const std::uint64_t args = b.count(b.u32("architecture"), 8, "layer argument");
    for (std::uint64_t a = 0; a < args; ++a) spec.args.push_back(static_cast<std::int64_t>(b.u64("architecture")));
    try {
      out.network.add(make_layer(spec));
    } catch (const std::invalid_argument& e) {
      b.fail("layer " + std::to_string(i) + ": " + e.what());
    }
  }
  const std::uint64_t count = b.count(b.u64("parameters"), 4, "parameter");
  if (static_cast<std::int64_t>(count) != out.network.parameter_count()) {
    b.fail("holds " + std::to_string(count) + " parameters but its architecture needs " +
           std::to_string(out.network.parameter_count()));
  }
  Tensor params = out.network.parameters();
  const std::uint8_t* p = b.take(count * 4);
  for (std::uint64_t i = 0; i < count; ++i) {
    const float value = std::bit_cast<float>(load_le<std::uint32_t>(p + 4 * i));
    if (!std::isfinite(value)) b.fail("parameter " + std::to_string(i) + " is not finite");
    params[static_cast<std::int64_t>(i)] = value;
  }
  if (b.left() != 0) b.fail(std::to_string(b.left()) + " unexpected bytes after the parameters");
  return out;
}

}  // namespace tessera
