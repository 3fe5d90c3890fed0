// Run settings: their texts, the checkpoint metadata both ways, and the option-by-option comparison.
#include "run_settings.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace tessera_app {

std::string widths_text(const std::vector<std::int64_t>& widths) {
  std::string s;
  for (std::int64_t w : widths) {
    if (!s.empty()) s += ',';
    s += std::to_string(w);
  }
  return s.empty() ? "none" : s;
}

std::vector<std::int64_t> parse_widths(const std::string& text) {
  std::vector<std::int64_t> widths;
  if (text == "none" || text.empty()) return widths;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string piece = text.substr(start, end - start);
    std::size_t used = 0;
    long long w = 0;
    try {
      w = std::stoll(piece, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != piece.size() || w < 1 || w > (1 << 20)) {
      throw std::invalid_argument("the hidden widths '" + text +
                                  "' are not a list of whole numbers from 1 to 1048576 (e.g. 64,32; 'none' for none)");
    }
    widths.push_back(w);
    start = end + 1;
  }
  return widths;
}

std::string encode_names(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += std::to_string(n.size()) + ":" + n;
  return s;
}

std::vector<std::string> decode_names(const std::string& text) {
  std::vector<std::string> names;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t colon = text.find(':', i);
    std::size_t length = 0;
    bool ok = colon != std::string::npos && colon > i && colon - i <= 9;
    for (std::size_t k = i; ok && k < colon; ++k) {
      ok = text[k] >= '0' && text[k] <= '9';
      length = length * 10 + static_cast<std::size_t>(text[k] - '0');
    }
    if (!ok || length > text.size() - colon - 1) throw std::invalid_argument("a malformed list of names");
    names.push_back(text.substr(colon + 1, length));
    i = colon + 1 + length;
  }
  return names;
}

namespace {
// Every setting once: the option that sets it, the checkpoint's key for it, the value as stored
// there, and as shown in a difference. fmt writes the shortest text that reads back as the same
// number. checkpoint_every is recorded but not a setting that must match.
struct Setting {
  const char* option;
  const char* key;
  std::string stored, shown;
};

std::vector<Setting> settings_table(const RunSettings& s) {
  std::string targets;
  for (const auto& t : s.targets) targets += (targets.empty() ? "" : ", ") + t;
  const auto same = [](const char* option, const char* key, std::string text) {
    return Setting{option, key, text, text};
  };
  std::vector<Setting> table{
      same("--model", "preset", s.model),
      same("--epochs", "epochs", std::to_string(s.epochs)),
      same("--batch-size", "batch_size", std::to_string(s.batch_size)),
      same("--lr", "lr", fmt::format("{}", s.lr)),
      same("--optimizer", "optimizer", s.optimizer),
      same("--weight-decay", "weight_decay", fmt::format("{}", s.weight_decay)),
      same("--seed", "seed", std::to_string(s.seed)),
      same("--limit-train", "limit_train", std::to_string(s.limit_train)),
      same("--hidden", "hidden", widths_text(s.hidden)),
      {"--loss", "loss", s.loss, s.loss.empty() ? "default" : s.loss},
      same("--validation", "validation", fmt::format("{}", s.validation)),
      same("--early-stopping", "early_stopping", std::to_string(s.early_stopping)),
      {"data", "data_kind", s.data_kind, s.data_kind == "csv" ? "a CSV table" : "an IDX folder"},
      {"--target", "targets", encode_names(s.targets), targets.empty() ? "the last column" : targets},
      same("--task", "task", s.task),
      same("--test-fraction", "test_fraction", fmt::format("{}", s.test_fraction)),
  };
  return table;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> describe(const RunSettings& s) {
  std::vector<std::pair<std::string, std::string>> d;
  for (const Setting& setting : settings_table(s)) {
    // A table's own settings say nothing of an IDX run.
    const std::string option = setting.option;
    if (s.data_kind != "csv" && (option == "--target" || option == "--task" || option == "--test-fraction")) continue;
    d.emplace_back(option, setting.shown);
  }
  return d;
}

tessera::ModelMetadata checkpoint_metadata(const RunSettings& s) {
  tessera::ModelMetadata m{{"app", "tessera"}, {"checkpoint_every", std::to_string(s.checkpoint_every)}};
  for (const Setting& setting : settings_table(s)) m[setting.key] = setting.stored;
  return m;
}

RunSettings settings_of(const tessera::Checkpoint& c, const std::string& file,
                        RunSettings (*defaults)(const std::string& preset)) {
  const auto find = [&](const std::string& key) -> const std::string* {
    const auto it = c.metadata.find(key);
    return it == c.metadata.end() ? nullptr : &it->second;
  };
  const auto get = [&](const std::string& key) -> const std::string& {
    const std::string* v = find(key);
    if (v == nullptr) {
      throw std::invalid_argument(file + ": not a checkpoint of tessera train (it does not record '" + key + "')");
    }
    return *v;
  };
  const auto bad = [&](const std::string& key) {
    return std::invalid_argument(file + ": a bad " + key + " '" + get(key) + "'");
  };
  const auto number = [&](const std::string& key) -> std::int64_t {
    const std::string& text = get(key);
    std::size_t used = 0;
    std::int64_t v = -1;
    try {
      v = std::stoll(text, &used);
    } catch (const std::exception&) {
    }
    if (used != text.size() || v < 0) throw bad(key);
    return v;
  };
  const auto real = [&](const std::string& key, bool positive) -> double {
    const std::string& text = get(key);
    std::size_t used = 0;
    double v = -1.0;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
    }
    if (used != text.size() || !(positive ? v > 0.0 : v >= 0.0)) throw bad(key);
    return v;
  };
  const std::string preset = get("preset");
  RunSettings s = defaults(preset);  // what earlier versions did not record
  s.model = preset;
  s.epochs = number("epochs");
  s.batch_size = number("batch_size");
  s.lr = static_cast<float>(real("lr", true));
  s.optimizer = get("optimizer");
  s.seed = static_cast<std::uint64_t>(number("seed"));
  s.limit_train = number("limit_train");
  s.checkpoint_every = number("checkpoint_every");
  if (find("data_kind") != nullptr) {
    s.data_kind = get("data_kind");
    if (s.data_kind != "idx" && s.data_kind != "csv") throw bad("data_kind");
    try {
      s.targets = decode_names(get("targets"));
      s.hidden = parse_widths(get("hidden"));
    } catch (const std::invalid_argument&) {
      throw bad("targets or hidden");
    }
    s.task = get("task");
    s.loss = get("loss");
    s.weight_decay = static_cast<float>(real("weight_decay", false));
    s.test_fraction = real("test_fraction", false);
    s.validation = real("validation", false);
    s.early_stopping = number("early_stopping");
  }
  return s;
}

std::string differences(const RunSettings& checkpoint, const RunSettings& here,
                        const std::vector<std::string>& options) {
  const auto theirs = describe(checkpoint), ours = describe(here);
  std::string out;
  for (std::size_t i = 0; i < theirs.size() && i < ours.size(); ++i) {
    const std::string& option = theirs[i].first;
    const bool asked = options.empty() || std::find(options.begin(), options.end(), option) != options.end();
    if (asked && theirs[i].second != ours[i].second) {
      out += fmt::format("{}{} {} in the checkpoint, {} here", out.empty() ? "" : "; ", option, theirs[i].second,
                         ours[i].second);
    }
  }
  return out;
}

}  // namespace tessera_app
