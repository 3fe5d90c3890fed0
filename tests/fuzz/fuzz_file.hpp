// The readers under fuzzing take paths: each input is written to one file per process (in /dev/shm
// when it exists, so that no disk is touched), overwritten by the next input.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace tessera::fuzz {

inline const std::filesystem::path& write_input(const std::uint8_t* data, std::size_t size, const char* suffix) {
  static const std::filesystem::path file = [suffix] {
    const std::filesystem::path dir =
        std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    return dir / ("tessera-fuzz-" + std::to_string(::getpid()) + "." + suffix);
  }();
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return file;
}

}  // namespace tessera::fuzz
