// The CSV reader: a chunked record splitter (memchr over unquoted records, a quote-aware scan where a
// record has quotes), column roles resolved from the header, features parsed with std::from_chars
// straight into the float array, targets as values or as labels mapped to classes.
#include "tessera/data/csv.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace tessera::data {

std::string CsvColumn::to_string() const {
  return index >= 0 ? "column " + std::to_string(index + 1) : "'" + name + "'";
}

namespace {

// Where the bytes come from: a file through zlib (raw or gzip alike) or text in memory.
class Source {
 public:
  virtual ~Source() = default;
  // Up to n bytes into out; 0 at the end. Throws DataError on a read or decompression error.
  virtual std::size_t read(char* out, std::size_t n) = 0;
  // The bytes left to read, when known (a raw file's size): for reserving the arrays once.
  virtual std::optional<std::uint64_t> size_hint() const { return std::nullopt; }
};

struct GzClose {
  void operator()(gzFile f) const noexcept { gzclose(f); }
};

class FileSource final : public Source {
 public:
  explicit FileSource(const std::filesystem::path& file) : file_(file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) throw DataError(file.string() + ": no such file");
    f_.reset(gzopen(file.c_str(), "rb"));
    if (!f_) throw DataError(file.string() + ": cannot open");
    gzbuffer(f_.get(), 1u << 17);
    const auto bytes = std::filesystem::file_size(file, ec);
    if (!ec) size_ = bytes;
  }
  std::size_t read(char* out, std::size_t n) override {
    const int got = gzread(f_.get(), out, static_cast<unsigned>(std::min<std::size_t>(n, 1u << 30)));
    int code = Z_OK;
    const char* message = gzerror(f_.get(), &code);
    if (got < 0 || (code != Z_OK && code != Z_STREAM_END)) {
      throw DataError(file_.string() + ": corrupt or truncated compressed data (" + message + ")");
    }
    return static_cast<std::size_t>(got);
  }
  std::optional<std::uint64_t> size_hint() const override {
    // Only a raw file's size says how much text there is.
    if (size_ && gzdirect(f_.get()) == 1) return size_;
    return std::nullopt;
  }

 private:
  const std::filesystem::path& file_;
  std::unique_ptr<std::remove_pointer_t<gzFile>, GzClose> f_;
  std::optional<std::uint64_t> size_;
};

class TextSource final : public Source {
 public:
  explicit TextSource(std::string_view text) : text_(text) {}
  std::size_t read(char* out, std::size_t n) override {
    n = std::min(n, text_.size());
    std::memcpy(out, text_.data(), n);
    text_.remove_prefix(n);
    return n;
  }
  std::optional<std::uint64_t> size_hint() const override { return text_.size(); }

 private:
  std::string_view text_;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s, char delimiter) {
  // A tab is data when it delimits.
  const auto space = [delimiter](char c) { return c == ' ' || c == '\r' || (c == '\t' && delimiter != '\t'); };
  if (s.empty() || (!space(s.front()) && !space(s.back()))) return s;  // the common case, at once
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool whole_number(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  return !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

enum class NumberStatus { Ok, Empty, NotANumber, NotFinite, OutOfRange };

// Clinger's fast path: a decimal of at most 19 digits whose significand w fits 2^53 and whose
// exponent e is within ±22 is w·10^e correctly rounded to double by one IEEE multiply or divide (both
// operands exact). Rounding that double to float is then the correctly rounded float too, unless it
// lies exactly on a midpoint between two floats (the decimal and its double are never on opposite
// sides of one: the midpoint is itself a double, nearer). Returns false when the text is not of that
// form or lands on a midpoint (nullptr; std::from_chars decides then); else the end of the number,
// which may be followed by more text (the caller checks what follows).
const char* parse_simple_decimal(const char* p, const char* last, float& value) {
  static constexpr double kPowers[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                         1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const bool negative = *p == '-';
  if (negative || *p == '+') ++p;
  std::uint64_t w = 0;
  int digits = 0, exponent = 0;
  for (; p < last && *p >= '0' && *p <= '9'; ++p, ++digits) w = w * 10 + static_cast<std::uint64_t>(*p - '0');
  if (p < last && *p == '.') {
    for (++p; p < last && *p >= '0' && *p <= '9'; ++p, ++digits, --exponent) {
      w = w * 10 + static_cast<std::uint64_t>(*p - '0');
    }
  }
  if (digits == 0 || digits > 19) return nullptr;
  if (p < last && (*p == 'e' || *p == 'E')) {
    ++p;
    const bool down = p < last && *p == '-';
    if (p < last && (*p == '-' || *p == '+')) ++p;
    int e = 0, e_digits = 0;
    for (; p < last && *p >= '0' && *p <= '9' && e_digits < 4; ++p, ++e_digits) e = e * 10 + (*p - '0');
    if (e_digits == 0) return nullptr;
    exponent += down ? -e : e;
  }
  if (w > (std::uint64_t{1} << 53) || exponent < -22 || exponent > 22) return nullptr;
  double v = static_cast<double>(w);
  v = exponent < 0 ? v / kPowers[-exponent] : v * kPowers[exponent];
  // A float midpoint has a 1 followed by 28 zeros in the low 29 bits of the double's significand.
  if ((std::bit_cast<std::uint64_t>(v) & ((std::uint64_t{1} << 29) - 1)) == (std::uint64_t{1} << 28)) return nullptr;
  value = static_cast<float>(negative ? -v : v);
  return p;
}

NumberStatus parse_number(std::string_view s, float& value) {
  if (s.empty()) return NumberStatus::Empty;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (parse_simple_decimal(first, last, value) == last) return NumberStatus::Ok;
  if (*first == '+') ++first;
  const auto [end, error] = std::from_chars(first, last, value, std::chars_format::general);
  if (error == std::errc::result_out_of_range) return NumberStatus::OutOfRange;
  if (error != std::errc() || end != last) return NumberStatus::NotANumber;
  if (!std::isfinite(value)) return NumberStatus::NotFinite;
  return NumberStatus::Ok;
}

// What is wrong with a field that did not parse as a number.
std::string number_problem(NumberStatus status, std::string_view text, const char* what, const char* context) {
  if (status == NumberStatus::Empty) return std::string("an empty ") + what + " where a number is needed";
  // Appended piece by piece: GCC 12 warns falsely on a chain of + here (its bug 105651).
  std::string message = "'";
  message.append(text).append("'");
  if (status == NumberStatus::NotFinite) return message.append(" is not finite (NaN or infinity)");
  if (status == NumberStatus::OutOfRange) return message.append(" is outside the float range");
  return message.append(" is not a number").append(context);
}

// Splits the source into records of fields, a chunk at a time.
class RecordReader {
 public:
  RecordReader(Source& source, std::size_t chunk, std::string name)
      : source_(source), chunk_(std::max<std::size_t>(chunk, 64)), name_(std::move(name)) {}

  [[noreturn]] void fail(std::int64_t line, const std::string& what) const {
    throw DataError(name_ + ": line " + std::to_string(line) + ": " + what);
  }

  // The delimiter most frequent on the first line (outside quotes), ',' when none is.
  char detect_delimiter() {
    for (;;) {
      const std::string_view have(buf_.data() + begin_, end_ - begin_);
      const std::size_t nl = have.find('\n');
      if (nl != std::string_view::npos || eof_) {
        const std::string_view first = have.substr(0, nl);
        std::size_t best = 0;
        char chosen = ',';
        for (char c : {',', ';', '\t', '|'}) {
          std::size_t n = 0;
          bool quoted = false;
          for (char x : first) {
            if (x == '"')
              quoted = !quoted;
            else if (x == c && !quoted)
              ++n;
          }
          if (n > best) best = n, chosen = c;
        }
        return chosen;
      }
      if (!fill()) eof_ = true;
    }
  }

  // The next non-blank record's fields (views valid until the next call) and the line it starts on;
  // false at the end of the data.
  bool next(std::vector<std::string_view>& fields, std::int64_t& record_line) {
    std::string_view text;
    if (!next_record(text, record_line)) return false;
    split(text, fields);
    return true;
  }

  // The next non-blank record's text (without its line end; valid until the next call) and the line
  // it starts on; false at the end of the data.
  bool next_record(std::string_view& record_text, std::int64_t& record_line) {
    for (;;) {
      const std::optional<std::size_t> length = record_length();
      if (!length) return false;
      const char* record = buf_.data() + begin_;
      const std::size_t n = *length;
      // The record's own bytes end before its line break (a CRLF's \r is stripped with the fields).
      const std::size_t consumed = n + (begin_ + n < end_ ? 1 : 0);
      record_line = record_line_ = line_;
      begin_ += consumed;
      std::string_view text(record, n);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (text.empty()) {
        ++line_;
        continue;  // blank lines are skipped
      }
      line_ += 1 + static_cast<std::int64_t>(std::count(text.begin(), text.end(), '\n'));
      record_text = text;
      return true;
    }
  }

  // Fields of one record: views into the buffer, or into scratch_ for quoted fields.
  void split(std::string_view text, std::vector<std::string_view>& fields) {
    fields.clear();
    if (text.find('"') == std::string_view::npos) {
      // Fields are short: a plain loop beats a memchr call per field.
      const char* begin = text.data();
      const char* end = begin + text.size();
      const char* start = begin;
      for (const char* c = begin; c < end; ++c) {
        if (*c == delimiter_) {
          fields.emplace_back(start, static_cast<std::size_t>(c - start));
          start = c + 1;
        }
      }
      fields.emplace_back(start, static_cast<std::size_t>(end - start));
      return;
    }
    // Quoted fields: unescaped into scratch_, whose size is fixed first so the views stay valid.
    scratch_.resize(text.size());
    std::vector<std::pair<std::size_t, std::size_t>> spans;  // into scratch_
    std::size_t out = 0, i = 0;
    for (;;) {
      const std::size_t start = out;
      while (i < text.size() && text[i] != delimiter_ && is_space(text[i]) && text[i] != '\t') ++i;
      if (i < text.size() && text[i] == '"') {
        ++i;
        for (;;) {
          if (i >= text.size()) fail(record_line_, "a quoted field is not closed");
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              scratch_[out++] = '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          scratch_[out++] = text[i++];
        }
        while (i < text.size() && is_space(text[i]) && text[i] != delimiter_) ++i;
        if (i < text.size() && text[i] != delimiter_) {
          fail(record_line_, "field " + std::to_string(spans.size() + 1) + " has text after its closing quote");
        }
      } else {
        while (i < text.size() && text[i] != delimiter_) {
          if (text[i] == '"') {
            fail(record_line_, "field " + std::to_string(spans.size() + 1) + " has a quote inside unquoted text");
          }
          scratch_[out++] = text[i++];
        }
      }
      spans.emplace_back(start, out - start);
      if (i >= text.size()) break;
      ++i;  // the delimiter
    }
    for (const auto& [s, n] : spans) fields.emplace_back(scratch_.data() + s, n);
  }

  void set_delimiter(char d) { delimiter_ = d; }
  std::optional<std::uint64_t> size_hint() const { return source_.size_hint(); }

 private:
  // Reads more into the buffer, keeping [begin_, end_); false at the end of the source.
  bool fill() {
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      scan_from_ -= std::min(scan_from_, begin_);
      begin_ = 0;
    }
    if (buf_.size() - end_ < chunk_) buf_.resize(std::max(buf_.size() * 2, end_ + chunk_));
    const std::size_t got = source_.read(buf_.data() + end_, buf_.size() - end_);
    end_ += got;
    if (!bom_checked_ && end_ >= 3) {
      bom_checked_ = true;
      if (std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) begin_ = 3;
    }
    return got > 0;
  }

  // The length of the record at begin_ (up to its line break outside quotes), reading more as
  // needed; nullopt when no bytes are left.
  std::optional<std::size_t> record_length() {
    scan_from_ = begin_;
    quoted_ = false;
    for (;;) {
      const char* base = buf_.data();
      // The common case: no quote before the next line break.
      while (scan_from_ < end_) {
        if (!quoted_) {
          const void* nl = std::memchr(base + scan_from_, '\n', end_ - scan_from_);
          const std::size_t stop = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - base) : end_;
          const void* q = std::memchr(base + scan_from_, '"', stop - scan_from_);
          if (q == nullptr) {
            if (nl != nullptr) return stop - begin_;
            scan_from_ = end_;
            break;
          }
          scan_from_ = static_cast<std::size_t>(static_cast<const char*>(q) - base) + 1;
          quoted_ = true;
        } else {
          const void* q = std::memchr(base + scan_from_, '"', end_ - scan_from_);
          if (q == nullptr) {
            scan_from_ = end_;
            break;
          }
          // A doubled quote inside quotes is a literal quote: toggling twice leaves us quoted.
          scan_from_ = static_cast<std::size_t>(static_cast<const char*>(q) - base) + 1;
          quoted_ = false;
        }
      }
      if (eof_ || !fill()) {
        eof_ = true;
        if (quoted_) fail(line_, "a quoted field is not closed before the end of the file");
        if (end_ == begin_) return std::nullopt;
        return end_ - begin_;
      }
    }
  }

  Source& source_;
  std::size_t chunk_;
  std::string name_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0, scan_from_ = 0;
  bool quoted_ = false, eof_ = false, bom_checked_ = false;
  std::int64_t line_ = 1, record_line_ = 1;  // the next record's line; the last record's
  char delimiter_ = ',';
  std::string scratch_;
};

// How a target column's labels are collected while the task is not yet known.
enum class TargetMode { Undecided, Classes, Values };

CsvData read(Source& source, const CsvOptions& o, const std::string& name) {
  RecordReader reader(source, o.chunk_bytes, name);
  CsvData out;
  out.delimiter = o.delimiter != 0 ? o.delimiter : reader.detect_delimiter();
  reader.set_delimiter(out.delimiter);

  std::vector<std::string_view> fields;
  std::int64_t line = 0;
  if (!reader.next(fields, line)) throw DataError(name + ": the file is empty");
  std::vector<std::string> columns;
  const bool first_is_data = !o.header;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    columns.push_back(o.header ? std::string(trim(fields[i], out.delimiter)) : "column " + std::to_string(i + 1));
  }
  const auto fail_at = [&](std::int64_t at, std::size_t column, const std::string& what) {
    throw DataError(name + ": line " + std::to_string(at) + ", column " + std::to_string(column + 1) + " ('" +
                    columns[column] + "'): " + what);
  };
  const auto column_list = [&] {
    std::string s;
    for (const auto& c : columns) s += (s.empty() ? "" : ", ") + c;
    return s;
  };
  // The index of a column named or numbered by `c`, or -1 when the file has none.
  const auto find = [&](const CsvColumn& c) -> std::int64_t {
    if (c.index >= 0) return c.index < static_cast<std::int64_t>(columns.size()) ? c.index : -1;
    std::int64_t found = -1;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (columns[i] == c.name) {
        if (found >= 0) throw DataError(name + ": the header names column '" + c.name + "' twice");
        found = static_cast<std::int64_t>(i);
      }
    }
    return found;
  };
  const auto require = [&](const CsvColumn& c, const char* role) {
    const std::int64_t i = find(c);
    if (i < 0) {
      throw DataError(name + ": no " + role + " column " + c.to_string() + " (the columns: " + column_list() + ")");
    }
    return static_cast<std::size_t>(i);
  };

  // Column roles: -1 unused, k >= 0 feature slot k, -2 - t target t.
  std::vector<std::int64_t> role(columns.size(), -1);
  bool has_targets = !o.no_targets;
  std::vector<std::size_t> target_columns;
  if (has_targets) {
    if (o.targets.empty()) {
      target_columns.push_back(columns.size() - 1);
    } else if (o.targets_optional &&
               std::none_of(o.targets.begin(), o.targets.end(), [&](const CsvColumn& c) { return find(c) >= 0; })) {
      has_targets = false;
    } else {
      for (const auto& c : o.targets) target_columns.push_back(require(c, "target"));
    }
  }
  for (std::size_t t = 0; t < target_columns.size(); ++t) {
    if (role[target_columns[t]] != -1)
      throw DataError(name + ": target column " + columns[target_columns[t]] + " is named twice");
    role[target_columns[t]] = -2 - static_cast<std::int64_t>(t);
  }
  for (const auto& c : o.exclude) {
    const std::size_t i = require(c, "excluded");
    if (role[i] != -1) throw DataError(name + ": column '" + columns[i] + "' is both a target and excluded");
  }
  std::vector<char> excluded(columns.size(), 0);
  for (const auto& c : o.exclude) excluded[require(c, "excluded")] = 1;
  if (!o.features.empty()) {
    for (std::size_t k = 0; k < o.features.size(); ++k) {
      const std::size_t i = require(o.features[k], "feature");
      if (role[i] != -1)
        throw DataError(name + ": column '" + columns[i] + "' is named twice among features and targets");
      role[i] = static_cast<std::int64_t>(k);
    }
  } else {
    std::int64_t k = 0;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (role[i] == -1 && !excluded[i]) role[i] = k++;
    }
  }
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (role[i] >= 0) {
      if (out.feature_names.size() <= static_cast<std::size_t>(role[i]))
        out.feature_names.resize(static_cast<std::size_t>(role[i]) + 1);
      out.feature_names[static_cast<std::size_t>(role[i])] = columns[i];
    }
  }
  for (std::size_t c : target_columns) out.target_names.push_back(columns[c]);
  const auto features = static_cast<std::int64_t>(out.feature_names.size());
  if (features == 0) throw DataError(name + ": no feature columns (the columns: " + column_list() + ")");
  const auto targets = static_cast<std::int64_t>(target_columns.size());

  TargetMode mode = TargetMode::Values;
  if (has_targets && targets == 1 && o.task != CsvTask::Regression) {
    mode = o.task == CsvTask::Classification || !o.classes.empty() ? TargetMode::Classes : TargetMode::Undecided;
  }
  // Classes found by detection (text labels), not asked for: a fraction among them is an error.
  const bool detecting = mode == TargetMode::Undecided;
  if (has_targets && targets > 1 && o.task == CsvTask::Classification) {
    throw DataError(name + ": classification takes one target column, " + std::to_string(targets) + " are given");
  }

  std::vector<float> x, values;
  std::vector<std::int32_t> labels;
  std::unordered_map<std::string, std::int32_t> class_of;  // label text → index in first-appearance order
  std::vector<std::string> names;                          // first-appearance order
  bool whole_numbers = true;
  for (std::size_t i = 0; i < o.classes.size(); ++i) class_of.emplace(o.classes[i], static_cast<std::int32_t>(i));
  if (const auto bytes = reader.size_hint()) {
    // Reserved once from the text's size and the first row's: no doubling of a large array.
    std::size_t row_bytes = 1;
    for (const auto f : fields) row_bytes += f.size() + 1;
    const std::size_t rows = static_cast<std::size_t>(*bytes / row_bytes) + 16;
    x.reserve(std::min<std::size_t>(rows * static_cast<std::size_t>(features), std::size_t{1} << 33));
  }

  std::int64_t rows = 0;
  // One field of column c (trimmed), into the row being read: a feature or a target.
  std::size_t base = 0, value_base = 0;
  const auto field = [&](std::size_t c, std::string_view raw) {
    const std::int64_t r = role[c];
    if (r == -1) return;
    const std::string_view text = trim(raw, out.delimiter);
    if (r >= 0) {
      float v = 0.0f;
      const NumberStatus status = parse_number(text, v);
      if (status != NumberStatus::Ok) fail_at(line, c, number_problem(status, text, "field", ""));
      x[base + static_cast<std::size_t>(r)] = v;
      return;
    }
    // A target.
    if (mode != TargetMode::Values) {
      if (text.empty()) fail_at(line, c, "an empty label");
      float v = 0.0f;
      const NumberStatus status = parse_number(text, v);
      const bool whole = whole_number(text);
      if (mode == TargetMode::Undecided && status == NumberStatus::Ok && !whole) {
        // A number that is not a whole number: regression. The labels so far were numbers too.
        mode = TargetMode::Values;
        values.reserve(labels.size() + 1);
        for (std::int32_t l : labels) {
          float earlier = 0.0f;
          parse_number(names[static_cast<std::size_t>(l)], earlier);
          values.push_back(earlier);
        }
        value_base = values.size();
        values.push_back(0.0f);  // this row's, written below
        labels.clear();
        class_of.clear();
        names.clear();
      } else {
        if (detecting && status == NumberStatus::Ok && !whole) {
          fail_at(line, c,
                  "the number '" + std::string(text) +
                      "' among text labels: give the task (classification reads it as a label)");
        }
        if (status != NumberStatus::Ok) mode = TargetMode::Classes;  // text: classification
        whole_numbers = whole_numbers && whole;
        const std::string key(text);
        auto it = class_of.find(key);
        if (it == class_of.end()) {
          if (!o.classes.empty()) fail_at(line, c, "the label '" + key + "' is not one of the known classes");
          it = class_of.emplace(key, static_cast<std::int32_t>(names.size())).first;
          names.push_back(key);
        }
        labels.push_back(it->second);
        return;
      }
    }
    float v = 0.0f;
    const NumberStatus status = parse_number(text, v);
    if (status != NumberStatus::Ok) {
      fail_at(line, c, number_problem(status, text, "target", ", in a target column of numbers (regression)"));
    }
    // Target t's value goes to place t of the row's, whatever the file's column order.
    values[value_base + static_cast<std::size_t>(-2 - r)] = v;
  };
  const auto ragged = [&](std::size_t count) {
    throw DataError(name + ": line " + std::to_string(line) + " has " + std::to_string(count) + " fields, the " +
                    (o.header ? "header has " : "first row has ") + std::to_string(columns.size()));
  };
  const char delimiter = out.delimiter;
  std::string_view record;
  bool have = first_is_data;
  if (first_is_data) {
    record = {};  // the first row is already split into `fields`
  } else {
    have = reader.next_record(record, line);
    if (!have) throw DataError(name + ": the file has a header but no rows");
  }
  bool split_already = first_is_data;
  while (have) {
    base = x.size();
    x.resize(base + static_cast<std::size_t>(features));
    if (mode == TargetMode::Values && has_targets) {
      value_base = values.size();
      values.resize(value_base + static_cast<std::size_t>(targets));
    }
    if (split_already || record.find('"') != std::string_view::npos) {
      // Quoted fields (or the first row of a headerless file): split, then field by field.
      if (!split_already) reader.split(record, fields);
      split_already = false;
      if (fields.size() != columns.size()) ragged(fields.size());
      for (std::size_t c = 0; c < fields.size(); ++c) field(c, fields[c]);
    } else {
      // The common case, in one pass: a feature's number is parsed where it stands, and only a field
      // that is not a plain decimal up to its delimiter goes the general way.
      const char* p = record.data();
      const char* end = p + record.size();
      std::size_t c = 0;
      for (;; ++c) {
        if (c == columns.size()) ragged(c + 1 + static_cast<std::size_t>(std::count(p, end, delimiter)));
        const char* stop = nullptr;
        const std::int64_t r = role[c];
        if (r >= 0) {
          float v = 0.0f;
          const char* q = parse_simple_decimal(p, end, v);
          if (q != nullptr && (q == end || *q == delimiter)) {
            x[base + static_cast<std::size_t>(r)] = v;
            stop = q;
          }
        }
        if (stop == nullptr) {
          const void* d = std::memchr(p, delimiter, static_cast<std::size_t>(end - p));
          stop = d != nullptr ? static_cast<const char*>(d) : end;
          field(c, std::string_view(p, static_cast<std::size_t>(stop - p)));
        }
        if (stop == end) break;
        p = stop + 1;
      }
      if (c + 1 != columns.size()) ragged(c + 1);
    }
    ++rows;
    have = reader.next_record(record, line);
  }

  Targets t;
  if (!has_targets) {
    t = Targets::values(std::vector<float>(static_cast<std::size_t>(rows), 0.0f), 1);
  } else if (mode == TargetMode::Values) {
    t = Targets::values(std::move(values), targets);
  } else if (!o.classes.empty()) {
    t = Targets::classes(std::move(labels), static_cast<std::int32_t>(o.classes.size()), o.classes);
  } else {
    // Class indices in the order asked for: sorted (numerically for whole numbers) or as they came.
    std::vector<std::int32_t> order(names.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int32_t>(i);
    if (o.class_order == ClassOrder::Sorted) {
      const auto less = [&](std::int32_t a, std::int32_t b) {
        const std::string& x1 = names[static_cast<std::size_t>(a)];
        const std::string& x2 = names[static_cast<std::size_t>(b)];
        if (whole_numbers) return std::stoll(x1) < std::stoll(x2) || (std::stoll(x1) == std::stoll(x2) && x1 < x2);
        return x1 < x2;
      };
      std::sort(order.begin(), order.end(), less);
    }
    std::vector<std::int32_t> index_of(names.size());
    std::vector<std::string> sorted_names(names.size());
    for (std::size_t k = 0; k < order.size(); ++k) {
      index_of[static_cast<std::size_t>(order[k])] = static_cast<std::int32_t>(k);
      sorted_names[k] = names[static_cast<std::size_t>(order[k])];
    }
    for (auto& l : labels) l = index_of[static_cast<std::size_t>(l)];
    t = Targets::classes(std::move(labels), static_cast<std::int32_t>(std::max<std::size_t>(1, names.size())),
                         std::move(sorted_names));
  }
  out.has_targets = has_targets;
  x.shrink_to_fit();
  out.data = Dataset(std::move(x), Shape{features}, std::move(t));
  return out;
}

}  // namespace

CsvData read_csv(const std::filesystem::path& file, const CsvOptions& options) {
  FileSource source(file);
  return read(source, options, file.string());
}

CsvData parse_csv(std::string_view text, const CsvOptions& options, const std::string& name) {
  TextSource source(text);
  return read(source, options, name);
}

}  // namespace tessera::data
