// Model files: save → load gives the same architecture, parameters and predictions; a file written by
// an earlier version (format 1, dense; format 2, convolutional; format 3, with buffers; format 4, a graph) still loads;
// every truncation, flipped byte and bad header is a clear error; a failed save leaves the previous file as it was.
#define BOOST_TEST_MODULE serialize
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <iterator>
#include <random>
#include <stdexcept>
#include <vector>

#include "files/byte_codec.hpp"
#include "support/corrupted_files.hpp"
#include "support/expect_error.hpp"
#include "support/files.hpp"
#include "support/finite_difference.hpp"
#include "support/same_bits.hpp"
#include "support/temp_dir.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;
using tessera::test::expect_error;
using tessera::test::TempDir;

namespace {
// With buffers (Standardize's statistics) as well as parameters.
Sequential small_network() {
  Sequential net(Standardize({1, 2, 3, 4, 5, 6}, {1, 0.5f, 2, 4, 8, 0.25f}), Dense(6, 5), ReLU(), Dense(5, 4),
                 Sigmoid(), Dense(4, 3), Softmax());
  net.initialize(3, Init::Normal);
  return net;
}

// Every kind of image layer, a first layer that takes many shapes, and a Dropout probability that
// must come back exactly.
Sequential small_cnn() {
  Sequential net(Shape{7, 6, 2});
  net.add(Conv2D(2, 3, 3, 1, 1)).add(ReLU()).add(MaxPool2D(2)).add(Conv2D(3, 4, 2, 2, 1)).add(Flatten());
  net.add(Dropout(0.3f)).add(Dense(16, 3));
  net.initialize(4, Init::Normal);
  return net;
}

using tessera::test::same_bits;

}  // namespace

BOOST_AUTO_TEST_CASE(save_then_load_gives_the_same_model) {
  TempDir dir;
  Sequential net = small_network();
  save_model(dir / "m.tsr", net, {{"loss", "mse"}, {"note", "hello"}});
  LoadedModel loaded = load_model(dir / "m.tsr");
  BOOST_REQUIRE(loaded.network.size() == net.size());
  for (std::size_t i = 0; i < net.size(); ++i) BOOST_TEST((loaded.network.layer(i).spec() == net.layer(i).spec()));
  BOOST_TEST(loaded.metadata.at("note") == "hello");
  BOOST_TEST(same_bits(loaded.network.parameters(), net.parameters()));
  BOOST_TEST(same_bits(loaded.network.buffers(), net.buffers()));
  std::mt19937_64 rng(1);
  Tensor x(Shape{7, 6});
  test::fill_uniform(x, rng);
  const Tensor expected = net.forward(x).clone();
  BOOST_TEST(same_bits(loaded.network.forward(x), expected));
}

BOOST_AUTO_TEST_CASE(a_convolutional_model_keeps_its_input_shape_and_predictions) {
  TempDir dir;
  Sequential net = small_cnn();
  save_model(dir / "cnn.tsr", net);
  LoadedModel loaded = load_model(dir / "cnn.tsr");
  BOOST_REQUIRE(loaded.network.input_count() == 1);
  BOOST_TEST((loaded.network.in_shape() == Shape{7, 6, 2}));
  BOOST_REQUIRE(loaded.network.size() == net.size());
  for (std::size_t i = 0; i < net.size(); ++i) BOOST_TEST(loaded.network.layer(i).name() == net.layer(i).name());
  BOOST_TEST(dynamic_cast<const Dropout&>(loaded.network.layer(5)).p() == 0.3f);
  BOOST_TEST(same_bits(loaded.network.parameters(), net.parameters()));
  net.eval();
  loaded.network.eval();
  std::mt19937_64 rng(3);
  Tensor x(Shape{5, 7, 6, 2});
  test::fill_uniform(x, rng);
  const Tensor expected = net.forward(x).clone();
  BOOST_TEST(same_bits(loaded.network.forward(x), expected));
}

BOOST_AUTO_TEST_CASE(a_file_from_version_3_still_loads) {
  // Written by tessera 0.4.0 (format 3, with buffers): Standardize(means 10, -1, 0.5; stddevs 2, 0.25,
  // 4), Dense(3, 4), ReLU, Dense(4, 2), initialised with seed 5.
  LoadedModel m = load_model(TESSERA_TEST_DATA "/models/v3-standardize-dense.tsr");
  BOOST_REQUIRE(m.network.size() == 4u);
  BOOST_TEST(m.network.layer(0).name() == "Standardize(3)");
  BOOST_TEST(m.metadata.at("written_by") == "tessera 0.4.0 (model format 3)");
  BOOST_TEST(m.network.buffer_count() == 6);
  const auto& s = dynamic_cast<const Standardize&>(m.network.layer(0));
  BOOST_TEST(s.mean() == (std::vector<float>{10.0f, -1.0f, 0.5f}), boost::test_tools::per_element());
  BOOST_TEST(s.scale() == (std::vector<float>{0.5f, 4.0f, 0.25f}), boost::test_tools::per_element());
  BOOST_TEST(m.network.parameters()[0] == 0.873972416f);
  Tensor x(Shape{2, 3});
  const float input[6] = {12.0f, -1.5f, 0.0f, 7.0f, 0.0f, 3.0f};
  for (int i = 0; i < 6; ++i) x[i] = input[i];
  const Tensor& y = m.network.forward(x);
  const float expected[4] = {-0.0636467859f, 1.5304172f, -3.10737443f, -4.17521381f};
  for (int i = 0; i < 4; ++i) BOOST_TEST(y[i] == expected[i], boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(buffers_that_an_older_format_cannot_hold_are_refused) {
  // A format-2 file naming a layer with buffers (only a forged or damaged file can) is an error, not
  // a model with made-up statistics.
  TempDir dir;
  // The committed format-3 file (Standardize(3): six buffer values), made to look like format 2.
  std::vector<std::uint8_t> bytes = test::read_bytes(TESSERA_TEST_DATA "/models/v3-standardize-dense.tsr");
  bytes[8] = 2;                                // the version
  bytes.resize(bytes.size() - 4 - 8 - 6 * 4);  // drop the CRC and the buffers
  const std::uint32_t crc = detail::crc32_of(bytes.data(), bytes.size());
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
  test::write_bytes(dir / "old.tsr", bytes);
  expect_error<ModelFileError>([&] { load_model(dir / "old.tsr"); }, "saved state (buffers) that files of format 2");
}

BOOST_AUTO_TEST_CASE(a_file_from_version_4_a_graph_still_loads) {
  // Written by tessera 0.5.0 (format 4, a graph): image [4, 4, 2] → conv → BatchNorm → ReLU ("h"),
  // conv → BatchNorm, Add with h ("sum"), Concat with the image ("cat"), GlobalAvgPool2D, Dense(5, 2);
  // He initialisation from seed 5, then three training-mode forwards (running statistics moved).
  LoadedModel m = load_model(TESSERA_TEST_DATA "/models/v4-residual-graph.tsr");
  BOOST_TEST(m.metadata.at("written_by") == "tessera 0.5.0 (model format 4)");
  const Graph& g = m.network;
  BOOST_REQUIRE(g.node_count() == 10u);
  const auto sum = g.node_inputs(g.find("sum"));
  BOOST_REQUIRE(sum.size() == 2u);
  BOOST_TEST(g.node_name(sum[1]) == "h");
  BOOST_TEST(g.node_name(g.node_inputs(g.find("cat"))[1]) == "image");
  BOOST_TEST(m.network.buffer_count() == 12);
  BOOST_TEST(m.network.buffers()[0] == -0.0713147074f);
  m.network.eval();
  Tensor x(Shape{2, 4, 4, 2});
  for (int i = 0; i < 64; ++i) x[i] = static_cast<float>((i * 7) % 11) / 10.0f - 0.3f;
  const Tensor& y = m.network.forward(x);
  const float expected[4] = {0.146307558f, 0.508027434f, 0.345436603f, 0.554038346f};
  for (int i = 0; i < 4; ++i) BOOST_TEST(y[i] == expected[i], boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(a_file_from_version_2_still_loads) {
  // Written by tessera 0.2.0 (format 2): a 6×6×1 input, Conv2D(1, 2, 3), ReLU, MaxPool2D(2), Flatten,
  // Dropout(0.5), Dense(8, 3), initialised with seed 5.
  LoadedModel m = load_model(TESSERA_TEST_DATA "/models/v2-cnn.tsr");
  BOOST_REQUIRE(m.network.size() == 6u);
  BOOST_TEST(m.network.layer(0).name() == "Conv2D(1, 2, kernel 3, stride 1, padding 0)");
  BOOST_TEST(m.network.layer(4).name() == "Dropout(0.500000)");
  BOOST_TEST(m.metadata.at("written_by") == "tessera 0.2.0");
  m.network.eval();
  Tensor x(Shape{2, 6, 6, 1});
  for (int i = 0; i < 72; ++i) x[i] = static_cast<float>((i * 7) % 11) / 10.0f - 0.3f;
  const Tensor& y = m.network.forward(x);
  const float expected[6] = {-1.24182105f, 3.53158665f, 4.11505127f, -1.08675027f, 3.55484653f, 4.5745573f};
  for (int i = 0; i < 6; ++i) BOOST_TEST(y[i] == expected[i], boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(a_file_from_version_1_still_loads) {
  // Written by tessera 0.1.0 (format 1): Dense(4, 3), Tanh, Dense(3, 2), initialised with seed 5.
  LoadedModel m = load_model(TESSERA_TEST_DATA "/models/v1-dense-tanh.tsr");
  BOOST_REQUIRE(m.network.size() == 3u);
  BOOST_TEST(m.network.layer(0).name() == "Dense(4, 3)");
  BOOST_TEST(m.network.layer(1).name() == "Tanh");
  BOOST_TEST(m.metadata.at("written_by") == "tessera 0.1.0");
  BOOST_TEST(m.network.parameters()[0] == -0.406766534f);
  Tensor x(Shape{2, 4});
  const float input[8] = {0.1f, 0.2f, 0.3f, 0.4f, -1, 0, 1, 2};
  for (int i = 0; i < 8; ++i) x[i] = input[i];
  const Tensor& y = m.network.forward(x);
  const float expected[4] = {1.77742565f, 0.0969220996f, 2.96671891f, 0.320461988f};
  for (int i = 0; i < 4; ++i) BOOST_TEST(y[i] == expected[i], boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(every_truncation_and_flipped_byte_is_a_clear_error) {
  TempDir dir;
  for (bool cnn : {false, true}) {
    Sequential net = cnn ? small_cnn() : small_network();
    save_model(dir / "good.tsr", net, {{"loss", "mse"}});
    test::expect_every_cut_and_flip_rejected<ModelFileError>(
        dir.path(), test::read_bytes(dir / "good.tsr"), ".tsr",
        [](const std::filesystem::path& file) { load_model(file); });
  }
}

BOOST_AUTO_TEST_CASE(bad_headers_name_the_problem) {
  TempDir dir;
  test::write_bytes(dir / "text.tsr", {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!'});
  expect_error<ModelFileError>([&] { load_model(dir / "text.tsr"); }, "not a Tessera model file");
  Sequential net = small_network();
  save_model(dir / "m.tsr", net);
  auto bytes = test::read_bytes(dir / "m.tsr");
  bytes[8] = 9;  // format version 9
  test::write_bytes(dir / "future.tsr", bytes);
  expect_error<ModelFileError>([&] { load_model(dir / "future.tsr"); }, "format version 9 is not one this build reads");
  expect_error<ModelFileError>([&] { load_model(dir / "absent.tsr"); }, "absent.tsr: no such file");
}

BOOST_AUTO_TEST_CASE(an_absurd_input_shape_is_refused_before_anything_is_built) {
  // A valid file (checksum and all) whose input shape claims 2^31 × 2^31 × 1 values per example.
  TempDir dir;
  Sequential net(Shape{4, 4, 1});
  net.add(Conv2D(1, 1, 1));
  save_model(dir / "m.tsr", net);
  auto bytes = test::read_bytes(dir / "m.tsr");
  // magic (8), version (4), no metadata (4), node count (4), the input node's type (1) and name
  // (4 + "input0"), its rank (4), then the extents as u64.
  for (std::size_t axis = 0; axis < 2; ++axis) {
    const std::uint64_t extent = std::uint64_t{1} << 31;
    std::memcpy(bytes.data() + 35 + 8 * axis, &extent, sizeof extent);  // little-endian, as the file
  }
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), bytes.data(), static_cast<uInt>(bytes.size() - 4));
  for (int i = 0; i < 4; ++i) bytes[bytes.size() - 4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  test::write_bytes(dir / "huge.tsr", bytes);
  expect_error<ModelFileError>([&] { load_model(dir / "huge.tsr"); }, "huge.tsr: ");
  expect_error<ModelFileError>([&] { load_model(dir / "huge.tsr"); }, "more than 2^32 values per example");
}

BOOST_AUTO_TEST_CASE(a_failed_save_leaves_the_previous_file_intact) {
  TempDir dir;
  Sequential net = small_network();
  save_model(dir / "m.tsr", net);
  const auto before = test::read_bytes(dir / "m.tsr");
  // CI runs as root, which ignores permission bits: fail through paths that cannot exist instead.
  expect_error<ModelFileError>([&] { save_model(dir / "no-such-folder" / "m.tsr", net); }, "does not exist");
  test::write_bytes(dir / "plain-file", {1, 2, 3});
  expect_error<ModelFileError>([&] { save_model(dir / "plain-file" / "m.tsr", net); }, "cannot save");
  // A directory where the model should go: the temporary file is written, the rename fails.
  std::filesystem::create_directories(dir / "taken.tsr" / "inside");
  expect_error<ModelFileError>([&] { save_model(dir / "taken.tsr", net); }, "renaming");
  BOOST_TEST(test::read_bytes(dir / "m.tsr") == before, boost::test_tools::per_element());
  // Nothing is left behind.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) files += entry.is_regular_file();
  BOOST_TEST(files == 2);  // m.tsr and plain-file
  // Saving again replaces the file whole.
  net.initialize(99);
  save_model(dir / "m.tsr", net);
  BOOST_TEST(load_model(dir / "m.tsr").network.parameters()[0] == net.parameters()[0]);
}

BOOST_AUTO_TEST_CASE(a_save_interrupted_before_the_rename_leaves_the_previous_file) {
  TempDir dir;
  Sequential net = small_network();
  save_model(dir / "m.tsr", net);
  const auto before = test::read_bytes(dir / "m.tsr");
  net.initialize(42);
  // Interrupted by an error between writing the new file and renaming it over the old one.
  detail::set_before_rename_hook([](const std::filesystem::path&) { throw std::runtime_error("power cut"); });
  expect_error<ModelFileError>([&] { save_model(dir / "m.tsr", net); }, "interrupted before the rename: power cut");
  detail::set_before_rename_hook({});
  BOOST_TEST(test::read_bytes(dir / "m.tsr") == before, boost::test_tools::per_element());
  BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);

  // Killed there (SIGKILL in a child process): the old file stays whole, the temporary file is left
  // over, and the next save that succeeds removes it.
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    detail::set_before_rename_hook([](const std::filesystem::path&) { ::raise(SIGKILL); });
    save_model(dir / "m.tsr", net);
    ::_exit(0);  // not reached
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_TEST((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
  BOOST_TEST(test::read_bytes(dir / "m.tsr") == before, boost::test_tools::per_element());
  BOOST_TEST(load_model(dir / "m.tsr").network.parameters()[0] != net.parameters()[0]);
  const auto leftover = dir / ("m.tsr.tmp-" + std::to_string(child));
  BOOST_TEST(std::filesystem::exists(leftover));
  save_model(dir / "m.tsr", net);
  BOOST_TEST(!std::filesystem::exists(leftover));
  BOOST_TEST(load_model(dir / "m.tsr").network.parameters()[0] == net.parameters()[0]);
}

namespace {
// A layer of one's own: y = x · s (one trained parameter), written as a user would.
class Scale final : public Layer {
 public:
  std::string name() const override { return "Scale"; }
  LayerSpec spec() const override { return {"test.Scale", {}}; }
  std::int64_t parameter_count() const override { return 1; }
  void bind(float* values, float* gradients) override { s_ = values, ds_ = gradients; }
  void initialize(Init, Rng&) override { *s_ = 2.0f; }
  void forward(const Tensor& x, Tensor& y) override {
    for (std::int64_t i = 0; i < x.size(); ++i) y[i] = x[i] * *s_;
  }
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx, bool accumulate) override {
    double g = 0.0;
    for (std::int64_t i = 0; i < x.size(); ++i) g += static_cast<double>(dy[i]) * static_cast<double>(x[i]);
    *ds_ = static_cast<float>(g) + (accumulate ? *ds_ : 0.0f);
    if (dx != nullptr) {
      for (std::int64_t i = 0; i < x.size(); ++i) (*dx)[i] = dy[i] * *s_;
    }
  }

 protected:
  Shape infer_out_shape(const Shape& in) const override { return in; }

 private:
  float *s_ = nullptr, *ds_ = nullptr;
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_layer_of_ones_own_saves_only_once_registered) {
  TempDir dir;
  Sequential net(Dense(3, 4), Scale(), Dense(4, 2));
  net.initialize(1);
  net.parameters()[3 * 4 + 4] = 1.5f;  // the Scale's parameter
  // Not registered: saving is refused before anything is written, naming the layer.
  expect_error<ModelFileError>([&] { save_model(dir / "own.tsr", net); },
                               "cannot save: layer 1 Scale could not be loaded again (unknown layer kind 'test.Scale'");
  BOOST_TEST(!std::filesystem::exists(dir / "own.tsr"));
  register_layer("test.Scale", [](const LayerSpec& spec) {
    if (!spec.args.empty()) throw std::invalid_argument("test.Scale takes no arguments");
    return std::make_unique<Scale>();
  });
  save_model(dir / "own.tsr", net);
  LoadedModel back = load_model(dir / "own.tsr");
  BOOST_TEST(back.network.layer(1).name() == "Scale");
  BOOST_TEST(back.network.parameters()[3 * 4 + 4] == 1.5f);
  Tensor x(Shape{2, 3});
  for (int i = 0; i < 6; ++i) x[i] = static_cast<float>(i) * 0.25f;
  const Tensor expected = net.forward(x).clone();
  BOOST_TEST(same_bits(back.network.forward(x), expected));
  expect_error<std::invalid_argument>(
      [] { register_layer("test.Scale", [](const LayerSpec&) { return std::make_unique<Scale>(); }); },
      "'test.Scale' is already registered");
  expect_error<std::invalid_argument>(
      [] { register_layer("Dense", [](const LayerSpec&) { return std::make_unique<Scale>(); }); },
      "'Dense' is one of the library's layer kinds");
}
