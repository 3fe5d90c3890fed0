// Every truncation of a good file, and the file with one bit flipped at every byte, must give a clear
// error naming the file: the check shared by the model and checkpoint readers' tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/files.hpp"

namespace tessera::test {

// Writes each corruption of `bytes` to dir/cut<ext> or dir/flipped<ext> and requires load(path) to
// throw E whose message names that file.
template <class E, class Load>
void expect_every_cut_and_flip_rejected(const std::filesystem::path& dir, const std::vector<std::uint8_t>& bytes,
                                        const std::string& ext, const Load& load) {
  const std::filesystem::path cut_file = dir / ("cut" + ext), flipped_file = dir / ("flipped" + ext);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    write_bytes(cut_file, std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)));
    expect_error<E>([&] { load(cut_file); }, "cut" + ext + ": ");
  }
  std::mt19937_64 rng(2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto flipped = bytes;
    flipped[i] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    write_bytes(flipped_file, flipped);
    expect_error<E>([&] { load(flipped_file); }, "flipped" + ext + ": ");
  }
}

}  // namespace tessera::test
