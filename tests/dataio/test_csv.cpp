// The CSV reader: RFC 4180 quoting, delimiters, header and column choice, task detection and class
// order, the committed real samples, chunk boundaries, gzip, and every bad input class with the file,
// line and column it names.
#define BOOST_TEST_MODULE csv
#include <boost/test/unit_test.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "tessera/data/csv.hpp"

using namespace tessera;
using data::CsvOptions;
using data::DataError;
using data::parse_csv;

namespace {
const std::string kCsv = TESSERA_TEST_DATA "/csv/";

template <class F>
void expect_data_error(F&& f, const std::string& fragment) {
  test::expect_error<DataError>(std::forward<F>(f), fragment);
}

std::vector<float> row(const data::Dataset& d, std::int64_t i) {
  const auto f = d.features(i);
  return {f.begin(), f.end()};
}
}  // namespace

BOOST_AUTO_TEST_CASE(quoting_line_ends_bom_and_delimiters) {
  // A BOM, CRLF line ends, a quoted header name with a comma, quoted numbers with spaces, an embedded
  // doubled quote and a line break inside a quoted label.
  const std::string text =
      "\xEF\xBB\xBFx,\"y, mm\",label\r\n"
      "1.5, \"2\" ,\"a \"\"quoted\"\" one\"\r\n"
      "-3e2,4,\"two\nlines\"\r\n"
      "\r\n"
      "+7,8.25,plain\r\n";
  const data::CsvData csv = parse_csv(text, {});
  BOOST_TEST(csv.delimiter == ',');
  BOOST_TEST(csv.feature_names == (std::vector<std::string>{"x", "y, mm"}), boost::test_tools::per_element());
  BOOST_TEST(csv.target_names == std::vector<std::string>{"label"}, boost::test_tools::per_element());
  const data::Dataset& d = csv.data;
  BOOST_REQUIRE(d.size() == 3);
  BOOST_TEST(row(d, 0) == (std::vector<float>{1.5f, 2.0f}), boost::test_tools::per_element());
  BOOST_TEST(row(d, 1) == (std::vector<float>{-300.0f, 4.0f}), boost::test_tools::per_element());
  BOOST_TEST(row(d, 2) == (std::vector<float>{7.0f, 8.25f}), boost::test_tools::per_element());
  BOOST_TEST(d.target_kind() == TargetKind::Classes);
  // Sorted: "a "quoted" one" < "plain" < "two\nlines"
  BOOST_TEST(d.targets().class_names() == (std::vector<std::string>{"a \"quoted\" one", "plain", "two\nlines"}),
             boost::test_tools::per_element());
  BOOST_TEST(d.label(0) == 0);
  BOOST_TEST(d.label(1) == 2);
  BOOST_TEST(d.label(2) == 1);

  for (const char delimiter : {';', '\t', '|'}) {
    std::string t = "a,b,c\n1,2,3\n4,5,6\n";
    for (char& c : t) c = c == ',' ? delimiter : c;
    const data::CsvData detected = parse_csv(t, {});
    BOOST_TEST(detected.delimiter == delimiter);
    BOOST_TEST(detected.data.size() == 2);
    BOOST_TEST(row(detected.data, 1) == (std::vector<float>{4.0f, 5.0f}), boost::test_tools::per_element());
  }
  CsvOptions given;
  given.delimiter = ';';
  expect_data_error([&] { parse_csv("a;b\n1,5;2\n", given); }, "line 2, column 1 ('a'): '1,5' is not a number");
}

BOOST_AUTO_TEST_CASE(columns_by_name_index_exclusion_and_order) {
  const std::string text = "id,a,b,target,c\n7,1,2,0.5,3\n8,4,5,1.5,6\n";
  CsvOptions o;
  o.targets = {"target"};
  o.exclude = {"id"};
  data::CsvData csv = parse_csv(text, o);
  BOOST_TEST(csv.feature_names == (std::vector<std::string>{"a", "b", "c"}), boost::test_tools::per_element());
  BOOST_TEST(csv.data.target_kind() == TargetKind::Values);
  BOOST_TEST(csv.data.value(1)[0] == 1.5f);
  BOOST_TEST(row(csv.data, 1) == (std::vector<float>{4.0f, 5.0f, 6.0f}), boost::test_tools::per_element());
  // By index, with the features in a chosen order (a model's): the file's order does not matter.
  o.targets = {3};
  o.exclude = {};
  o.features = {"c", "a"};
  csv = parse_csv(text, o);
  BOOST_TEST(row(csv.data, 0) == (std::vector<float>{3.0f, 1.0f}), boost::test_tools::per_element());
  // Several target columns: values of that width.
  CsvOptions multi;
  multi.targets = {"a", "target"};
  multi.exclude = {"id"};
  csv = parse_csv(text, multi);
  BOOST_TEST(csv.data.target_width() == 2);
  BOOST_TEST(csv.data.value(1)[0] == 4.0f);
  BOOST_TEST(csv.data.value(1)[1] == 1.5f);
  // In the order given, not the file's; quoted rows too.
  multi.targets = {"target", "a"};
  csv = parse_csv(text + "9,\"10\",11,12.5,13\n", multi);
  BOOST_TEST(csv.target_names == (std::vector<std::string>{"target", "a"}), boost::test_tools::per_element());
  BOOST_TEST(csv.data.value(1)[0] == 1.5f);
  BOOST_TEST(csv.data.value(1)[1] == 4.0f);
  BOOST_TEST(csv.data.value(2)[0] == 12.5f);
  BOOST_TEST(csv.data.value(2)[1] == 10.0f);
  // No header: columns are numbered.
  CsvOptions headless;
  headless.header = false;
  csv = parse_csv("1,2,x\n3,4,y\n", headless);
  BOOST_TEST(csv.data.size() == 2);
  BOOST_TEST(csv.feature_names[1] == "column 2");
  // Rows to predict on: the target column is absent.
  CsvOptions predict;
  predict.targets = {"target"};
  predict.targets_optional = true;
  predict.features = {"a", "b"};
  csv = parse_csv("b,a\n2,1\n", predict);
  BOOST_TEST(!csv.has_targets);
  BOOST_TEST(row(csv.data, 0) == (std::vector<float>{1.0f, 2.0f}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(task_detection_and_class_order) {
  // Whole numbers: classes, sorted numerically (10 after 9), names kept as written.
  data::CsvData csv = parse_csv("x,y\n1,10\n2,9\n3,-1\n4,9\n", {});
  BOOST_TEST(csv.data.target_kind() == TargetKind::Classes);
  BOOST_TEST(csv.data.targets().class_names() == (std::vector<std::string>{"-1", "9", "10"}),
             boost::test_tools::per_element());
  BOOST_TEST(csv.data.label(0) == 2);
  // Any other number: regression, including one written "3.0" after whole numbers.
  csv = parse_csv("x,y\n1,10\n2,3.0\n3,-1\n", {});
  BOOST_TEST(csv.data.target_kind() == TargetKind::Values);
  BOOST_TEST(csv.data.value(0)[0] == 10.0f);
  BOOST_TEST(csv.data.value(1)[0] == 3.0f);
  BOOST_TEST(csv.data.value(2)[0] == -1.0f);
  // Text with whole numbers: classification (all are labels).
  csv = parse_csv("x,y\n1,2\n2,b\n", {});
  BOOST_TEST(csv.data.target_kind() == TargetKind::Classes);
  BOOST_TEST(csv.data.targets().class_names() == (std::vector<std::string>{"2", "b"}),
             boost::test_tools::per_element());
  // Text and fractional numbers mixed: neither task fits; an error, whichever comes first.
  expect_data_error([] { parse_csv("x,y\n1,2.5\n2,b\n", {}); }, "line 3, column 2 ('y'): 'b' is not a number");
  expect_data_error([] { parse_csv("x,y\n1,b\n2,2.5\n", {}); },
                    "line 3, column 2 ('y'): the number '2.5' among text labels");
  // First appearance, and forced tasks.
  CsvOptions o;
  o.class_order = data::ClassOrder::FirstAppearance;
  csv = parse_csv("x,y\n1,zebra\n2,ant\n3,zebra\n", o);
  BOOST_TEST(csv.data.targets().class_names() == (std::vector<std::string>{"zebra", "ant"}),
             boost::test_tools::per_element());
  o = {};
  o.task = data::CsvTask::Regression;
  BOOST_TEST(parse_csv("x,y\n1,2\n", o).data.target_kind() == TargetKind::Values);
  o.task = data::CsvTask::Classification;
  BOOST_TEST(parse_csv("x,y\n1,2.5\n", o).data.target_kind() == TargetKind::Classes);
  // Known classes (a training set's): indices follow them; an unknown label is an error.
  o = {};
  o.classes = {"b", "a", "c"};
  csv = parse_csv("x,y\n1,a\n2,c\n", o);
  BOOST_TEST(csv.data.classes() == 3);
  BOOST_TEST(csv.data.label(0) == 1);
  BOOST_TEST(csv.data.label(1) == 2);
  expect_data_error([&] { parse_csv("x,y\n1,a\n2,d\n", o, "test.csv"); },
                    "test.csv: line 3, column 2 ('y'): the label 'd' is not one of the known classes");
}

BOOST_AUTO_TEST_CASE(bad_inputs_name_file_line_and_column) {
  const auto bad = [](const std::string& text, const std::string& fragment, CsvOptions o = {}) {
    expect_data_error([&] { parse_csv(text, o, "f.csv"); }, fragment);
  };
  bad("", "f.csv: the file is empty");
  bad("\n\n", "f.csv: the file is empty");
  bad("a,b,c\n", "f.csv: the file has a header but no rows");
  bad("a,b\n1,2\n3\n", "f.csv: line 3 has 1 fields, the header has 2");
  bad("a,b\n1,2\n3,4,5\n", "line 3 has 3 fields");
  bad("a,b,c\n1,,0\n", "line 2, column 2 ('b'): an empty field where a number is needed");
  bad("a,b,c\n1,x1,0\n", "line 2, column 2 ('b'): 'x1' is not a number");
  bad("a,b,c\n1,nan,0\n", "line 2, column 2 ('b'): 'nan' is not finite (NaN or infinity)");
  bad("a,b,c\n1,-inf,0\n", "'-inf' is not finite");
  bad("a,b,c\n1,1e60,0\n", "'1e60' is outside the float range");
  bad("a,b,c\n1,2,3\n4,5,\"x\n", "a quoted field is not closed");
  bad("a,b,c\n1,\"2\"x,3\n", "line 2: field 2 has text after its closing quote");
  bad("a,b,c\n1,2 \"x\",3\n", "line 2: field 2 has a quote inside unquoted text");
  bad("a,b,c\n1,2,\n", "line 2, column 3 ('c'): an empty label");
  CsvOptions target;
  target.targets = {"price"};
  bad("a,b,c\n1,2,3\n", "f.csv: no target column 'price' (the columns: a, b, c)", target);
  target.targets = {7};
  bad("a,b,c\n1,2,3\n", "no target column column 8", target);
  CsvOptions regression;
  regression.task = data::CsvTask::Regression;
  bad("a,b\n1,2\n3,x\n", "line 3, column 2 ('b'): 'x' is not a number, in a target column of numbers", regression);
  bad("a,b\n1,2.5\n3,x\n", "'x' is not a number, in a target column of numbers");  // detected regression
  CsvOptions excluded;
  excluded.exclude = {"nope"};
  bad("a,b\n1,2\n", "no excluded column 'nope'", excluded);
  BOOST_TEST(parse_csv("a,a,b\n1,2,3\n", {}).data.example_size() == 2);  // repeated names: fine unless chosen
  CsvOptions by_name;
  by_name.targets = {"a"};
  bad("a,a,b\n1,2,3\n", "the header names column 'a' twice", by_name);
  CsvOptions only_target;
  bad("y\n1\n", "no feature columns", only_target);
  expect_data_error([] { data::read_csv(kCsv + "does-not-exist.csv"); }, "does-not-exist.csv: no such file");
}

BOOST_AUTO_TEST_CASE(chunk_boundaries_and_gzip_read_the_same) {
  // Records, quotes and CRLFs cut at every position by a tiny chunk size.
  std::string text = "name,\"v\"\r\n";
  for (int i = 0; i < 60; ++i) {
    text += (i % 3 == 0 ? "\"q,\"\"" + std::to_string(i) + "\"\"\"" : "k" + std::to_string(i % 4)) + "," +
            std::to_string(i * 0.25) + "\r\n";
  }
  CsvOptions o;
  o.targets = {"name"};
  const data::CsvData whole = parse_csv(text, o);
  BOOST_TEST(whole.data.size() == 60);
  for (std::size_t chunk : {1, 7, 64, 65, 100}) {
    CsvOptions small = o;
    small.chunk_bytes = chunk;
    const data::CsvData cut = parse_csv(text, small);
    BOOST_REQUIRE(cut.data.size() == whole.data.size());
    for (std::int64_t i = 0; i < cut.data.size(); ++i) {
      BOOST_TEST(cut.data.features(i)[0] == whole.data.features(i)[0]);
      BOOST_TEST(cut.data.label(i) == whole.data.label(i));
    }
    BOOST_TEST(cut.data.targets().class_names() == whole.data.targets().class_names(),
               boost::test_tools::per_element());
  }
  test::TempDir dir;
  test::write_gzip(dir / "t.csv.gz", std::vector<std::uint8_t>(text.begin(), text.end()));
  test::write_bytes(dir / "t.csv", std::vector<std::uint8_t>(text.begin(), text.end()));
  for (const char* name : {"t.csv.gz", "t.csv"}) {
    const data::CsvData read = data::read_csv(dir / name, o);
    BOOST_REQUIRE(read.data.size() == 60);
    BOOST_TEST(read.data.features(59)[0] == whole.data.features(59)[0]);
  }
  // A cut gzip stream is an error, not fewer rows.
  auto gz = test::read_bytes(dir / "t.csv.gz");
  gz.resize(gz.size() / 2);
  test::write_bytes(dir / "cut.csv.gz", gz);
  expect_data_error([&] { data::read_csv(dir / "cut.csv.gz", o); }, "cut.csv.gz: corrupt or truncated compressed data");
}

BOOST_AUTO_TEST_CASE(the_real_samples) {
  CsvOptions o;
  o.targets = {"species"};
  const data::CsvData iris = data::read_csv(kCsv + "iris.csv", o);
  BOOST_TEST(iris.data.size() == 150);
  BOOST_TEST(iris.data.example_size() == 4);
  BOOST_TEST(iris.data.targets().class_names() == (std::vector<std::string>{"setosa", "versicolor", "virginica"}),
             boost::test_tools::per_element());
  BOOST_TEST(row(iris.data, 0) == (std::vector<float>{5.1f, 3.5f, 1.4f, 0.2f}), boost::test_tools::per_element());
  o.targets = {"cultivar"};
  const data::CsvData wine = data::read_csv(kCsv + "wine.csv", o);
  BOOST_TEST(wine.data.size() == 178);
  BOOST_TEST(wine.data.example_size() == 13);
  BOOST_TEST(wine.data.classes() == 3);
  o.targets = {"diagnosis"};
  const data::CsvData cancer = data::read_csv(kCsv + "breast_cancer.csv", o);
  BOOST_TEST(cancer.data.size() == 569);
  BOOST_TEST(cancer.data.example_size() == 30);
  BOOST_TEST(cancer.data.targets().class_names() == (std::vector<std::string>{"benign", "malignant"}),
             boost::test_tools::per_element());
  o.targets = {"progression"};
  const data::CsvData diabetes = data::read_csv(kCsv + "diabetes.csv", o);
  BOOST_TEST(diabetes.data.size() == 442);
  BOOST_TEST(diabetes.data.example_size() == 10);
  BOOST_TEST(diabetes.data.target_kind() == TargetKind::Values);
  BOOST_TEST(diabetes.data.value(0)[0] == 151.0f);
}

BOOST_AUTO_TEST_CASE(numbers_are_the_correctly_rounded_floats) {
  // The reader's fast path for short decimals against std::from_chars (correctly rounded by the
  // standard), over random decimals of every length and exponent, float midpoints and their
  // neighbours, and the forms from_chars alone takes.
  std::mt19937_64 rng(12);
  std::string text = "x,y\n";
  std::vector<std::string> numbers;
  const auto add = [&](std::string n) {
    float v = 0.0f;
    if (std::from_chars(n.data() + (n[0] == '+'), n.data() + n.size(), v).ec != std::errc()) return;  // out of range
    numbers.push_back(n);
    text += n + ",0\n";
  };
  for (int i = 0; i < 20000; ++i) {
    const int digits = 1 + static_cast<int>(rng() % 19);
    std::string d;
    for (int k = 0; k < digits; ++k) d += static_cast<char>('0' + rng() % 10);
    const int point = static_cast<int>(rng() % static_cast<unsigned>(digits + 1));
    std::string n = (rng() % 2 ? "-" : "") + d.substr(0, static_cast<std::size_t>(point)) + "." +
                    d.substr(static_cast<std::size_t>(point));
    if (n == "." || n == "-.") n += "5";
    if (rng() % 3 == 0) n += "e" + std::to_string(static_cast<int>(rng() % 50) - 25);
    add(n);
  }
  // Midpoints between adjacent floats, exactly and a hair either side (17 significant digits).
  for (int i = 0; i < 2000; ++i) {
    const float f = std::ldexp(static_cast<float>(rng() % (1u << 24)), static_cast<int>(rng() % 40) - 30);
    const double mid = (static_cast<double>(f) + static_cast<double>(std::nextafter(f, 1e30f))) / 2.0;
    char buffer[64];
    for (const double v : {mid, std::nextafter(mid, 0.0), std::nextafter(mid, 1e300)}) {
      std::snprintf(buffer, sizeof buffer, "%.17g", v);
      add(buffer);
    }
  }
  for (const char* n : {"0", "-0", "1e-45", "3.4028235e38", "0.000000000000000000000000000001", "123456789012345678901",
                        "+5", "5.", ".5", "1E3", "7e+2"}) {
    add(n);
  }
  CsvOptions o;
  o.targets = {"y"};
  const data::CsvData csv = parse_csv(text, o);
  BOOST_REQUIRE(csv.data.size() == static_cast<std::int64_t>(numbers.size()));
  std::int64_t wrong = 0;
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    const std::string& n = numbers[i];
    float expected = 0.0f;
    std::from_chars(n.data() + (n[0] == '+'), n.data() + n.size(), expected);
    const float got = csv.data.features(static_cast<std::int64_t>(i))[0];
    if (std::memcmp(&got, &expected, sizeof got) != 0 && ++wrong <= 5) {
      BOOST_ERROR(n << " read as " << got << ", correctly rounded " << expected);
    }
  }
  BOOST_TEST(wrong == 0);
}
