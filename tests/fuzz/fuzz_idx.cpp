// libFuzzer target: any bytes as an IDX file (raw, or gzip when they start with its magic). The reader
// must return an array that matches its header or throw DataError; anything else (a crash, a
// sanitizer report, another exception, a hang) is a finding.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "tessera/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& file = tessera::fuzz::write_input(data, size, "idx");
  try {
    const tessera::data::IdxArray a = tessera::data::read_idx(file);
    std::int64_t elements = 1;
    for (std::int64_t d : a.dims) elements *= d;
    if (static_cast<std::int64_t>(a.data.size()) != elements) __builtin_trap();  // header and data disagree
  } catch (const tessera::data::DataError&) {
    // A clear error: what a bad file must give.
  }
  return 0;
}
