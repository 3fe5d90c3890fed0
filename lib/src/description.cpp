// Model descriptions: JSON (through nlohmann-json) to a Graph and back, with each layer kind's options
// by name, and every error naming the file and the line and column or the node.
#include "tessera/description.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "layers/float_arg.hpp"
#include "tessera/layers/merge.hpp"

namespace tessera {

namespace {

using nlohmann::json;

// How an option's value is found when the description leaves it out.
enum class Default { Required, Value, InputElements, InputLastExtent };

struct Option {
  const char* name;
  bool is_float;
  Default fallback;
  double value = 0.0;  // for Default::Value
};

// Each library kind's options, in the order of its LayerSpec arguments.
const std::map<std::string, std::vector<Option>>& kinds() {
  static const std::map<std::string, std::vector<Option>> table{
      {"Dense", {{"in", false, Default::InputElements}, {"out", false, Default::Required}}},
      {"Conv2D",
       {{"in_channels", false, Default::InputLastExtent},
        {"out_channels", false, Default::Required},
        {"kernel", false, Default::Required},
        {"stride", false, Default::Value, 1},
        {"padding", false, Default::Value, 0}}},
      {"MaxPool2D", {{"size", false, Default::Required}, {"stride", false, Default::Value, 0}}},
      {"AvgPool2D", {{"size", false, Default::Required}, {"stride", false, Default::Value, 0}}},
      {"Dropout", {{"p", true, Default::Required}}},
      {"Normalize", {{"mean", true, Default::Required}, {"stddev", true, Default::Required}}},
      {"BatchNorm",
       {{"channels", false, Default::InputLastExtent},
        {"momentum", true, Default::Value, 0.1},
        {"eps", true, Default::Value, 1e-5}}},
      {"LayerNorm", {{"features", false, Default::InputLastExtent}, {"eps", true, Default::Value, 1e-5}}},
      {"LeakyReLU", {{"slope", true, Default::Value, 0.01}}},
      {"ELU", {{"alpha", true, Default::Value, 1.0}}},
      {"Standardize", {{"features", false, Default::InputElements}}},
      {"ReLU", {}},
      {"Sigmoid", {}},
      {"Tanh", {}},
      {"Identity", {}},
      {"Softmax", {}},
      {"LogSoftmax", {}},
      {"GELU", {}},
      {"SiLU", {}},
      {"GlobalAvgPool2D", {}},
      {"Flatten", {}},
      {"Add", {}},
      {"Concat", {}},
  };
  return table;
}

// The shortest decimal that reads back as `v` (0.1f as 0.1, not 0.10000000149011612), as a double.
double shortest(float v) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, v);
  double d = 0.0;
  std::from_chars(text, result.ptr, d);
  return d;
}

std::string known_kinds() {
  std::string out;
  for (const auto& [kind, options] : kinds()) out += (out.empty() ? "" : ", ") + kind;
  return out;
}

// Line and column (from 1) of byte `offset` of `text`.
std::pair<std::size_t, std::size_t> line_and_column(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw DescriptionError(source_ + ": " + (where.empty() ? "" : where + ": ") + what);
  }

  ModelDescription read(const json& doc) {
    if (!doc.is_object()) fail("", "a description is a JSON object, got " + std::string(doc.type_name()));
    for (const auto& [key, value] : doc.items()) {
      static const std::set<std::string> allowed{"name", "description", "inputs", "layers", "outputs", "training"};
      if (!allowed.contains(key)) {
        fail("", "unknown key '" + key + "' (name, description, inputs, layers, outputs, training)");
      }
    }
    ModelDescription out;
    out.name = text_of(doc, "name", "");
    out.summary = text_of(doc, "description", "");
    read_inputs(doc, out.network);
    read_layers(doc, out.network);
    read_outputs(doc, out.network);
    if (doc.contains("training")) out.training = read_training(doc.at("training"));
    try {
      out.network.parameters();  // builds: a node leading to no output is an error here
    } catch (const std::logic_error& e) {
      fail("", e.what());
    }
    return out;
  }

 private:
  std::string text_of(const json& object, const char* key, const std::string& where) const {
    if (!object.contains(key)) return {};
    const json& v = object.at(key);
    if (!v.is_string()) fail(where, std::string("'") + key + "' must be a string, got " + v.type_name());
    return v.get<std::string>();
  }

  const json& array_of(const json& doc, const char* key) const {
    if (!doc.contains(key)) fail("", std::string("no '") + key + "'");
    const json& v = doc.at(key);
    if (!v.is_array() || v.empty()) fail("", std::string("'") + key + "' must be a non-empty array");
    return v;
  }

  Node node_named(const std::string& name, const std::string& where) const {
    const auto it = nodes_.find(name);
    if (it != nodes_.end()) return it->second;
    if (all_names_.contains(name)) {
      fail(where, "reads '" + name +
                      "', which is defined after it: a layer reads only the nodes before it, so "
                      "connections cannot form a cycle");
    }
    fail(where, "reads '" + name + "', which is no input or layer of this description");
  }

  void read_inputs(const json& doc, Graph& g) {
    const json& inputs = array_of(doc, "inputs");
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const json& in = inputs[k];
      const std::string where = "input " + std::to_string(k);
      if (!in.is_object()) fail(where, "must be an object with a name and a shape");
      for (const auto& [key, value] : in.items()) {
        if (key != "name" && key != "shape") fail(where, "unknown key '" + key + "' (name, shape)");
      }
      std::string name = text_of(in, "name", where);
      if (name.empty()) name = "input" + std::to_string(k);
      if (!in.contains("shape") || !in.at("shape").is_array()) fail(where, "needs a shape: an array of extents");
      const json& extents = in.at("shape");
      if (extents.empty() || extents.size() >= static_cast<std::size_t>(Shape::kMaxRank)) {
        fail(where, "a shape of 1 to " + std::to_string(Shape::kMaxRank - 1) + " extents");
      }
      std::int64_t e[3] = {1, 1, 1};
      for (std::size_t a = 0; a < extents.size(); ++a) {
        if (!extents[a].is_number_integer() || extents[a].get<std::int64_t>() < 1 ||
            extents[a].get<std::int64_t>() > (std::int64_t{1} << 31)) {
          fail(where, "extents are whole numbers from 1 to 2^31, got " + extents[a].dump());
        }
        e[a] = extents[a].get<std::int64_t>();
      }
      const Shape shape = extents.size() == 1   ? Shape{e[0]}
                          : extents.size() == 2 ? Shape{e[0], e[1]}
                                                : Shape{e[0], e[1], e[2]};
      if (static_cast<double>(e[0]) * static_cast<double>(e[1]) * static_cast<double>(e[2]) > 0x1p32) {
        fail(where, "more than 2^32 values per example");
      }
      claim(name, where);
      try {
        nodes_[name] = g.input(shape, name);
      } catch (const std::invalid_argument& ex) {
        fail(where, ex.what());
      }
      last_ = nodes_[name];
    }
  }

  void claim(const std::string& name, const std::string& where) {
    if (nodes_.contains(name)) fail(where, "the name '" + name + "' is used twice");
  }

  void read_layers(const json& doc, Graph& g) {
    const json& layers = array_of(doc, "layers");
    // Names first, so that a layer reading a later one is told it is a cycle, not a typo.
    for (const json& l : layers) {
      if (l.is_object() && l.contains("name") && l.at("name").is_string()) all_names_.insert(l.at("name"));
    }
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const json& l = layers[i];
      std::string where = "layer " + std::to_string(i);
      if (!l.is_object()) fail(where, "must be an object with a type");
      std::string name = text_of(l, "name", where);
      if (!name.empty()) where += " '" + name + "'";
      if (!l.contains("type") || !l.at("type").is_string()) fail(where, "needs a type (a string)");
      const std::string type = l.at("type").get<std::string>();
      where += " (" + type + ")";
      std::vector<Node> inputs;
      if (l.contains("inputs") && l.contains("input")) fail(where, "give 'input' or 'inputs', not both");
      if (l.contains("input")) {
        if (!l.at("input").is_string()) fail(where, "'input' must be a node's name");
        inputs.push_back(node_named(l.at("input").get<std::string>(), where));
      } else if (l.contains("inputs")) {
        const json& names = l.at("inputs");
        if (!names.is_array() || names.empty()) fail(where, "'inputs' must be a non-empty array of node names");
        for (const json& n : names) {
          if (!n.is_string()) fail(where, "'inputs' must name nodes, got " + n.dump());
          inputs.push_back(node_named(n.get<std::string>(), where));
        }
      } else {
        inputs.push_back(last_);  // the node before it
      }
      std::unique_ptr<Layer> layer = make(l, type, g.node_shape(inputs[0]), where);
      if (!name.empty()) claim(name, where);
      Node node;
      try {
        node = g.add(std::move(layer), inputs, name);
      } catch (const std::invalid_argument& e) {
        fail(where, e.what());
      }
      nodes_[g.node_name(node)] = node;
      last_ = node;
    }
  }

  std::unique_ptr<Layer> make(const json& l, const std::string& type, const Shape& input, const std::string& where) {
    LayerSpec spec{type, {}};
    const auto it = kinds().find(type);
    if (it == kinds().end()) {
      // A kind of the user's own, registered with register_layer: its arguments as they are.
      for (const auto& [key, value] : l.items()) {
        if (key != "name" && key != "type" && key != "input" && key != "inputs" && key != "args") {
          fail(where, "unknown option '" + key + "' (a layer of your own takes 'args': an array of integers)");
        }
      }
      if (l.contains("args")) {
        const json& args = l.at("args");
        if (!args.is_array()) fail(where, "'args' must be an array of integers");
        for (const json& a : args) {
          if (!a.is_number_integer()) fail(where, "'args' must be integers, got " + a.dump());
          spec.args.push_back(a.get<std::int64_t>());
        }
      }
    } else {
      const std::vector<Option>& options = it->second;
      for (const auto& item : l.items()) {
        const std::string& key = item.key();
        if (key == "name" || key == "type" || key == "input" || key == "inputs") continue;
        const bool known = std::any_of(options.begin(), options.end(), [&](const Option& o) { return key == o.name; });
        if (!known) {
          std::string names;
          for (const Option& o : options) names += (names.empty() ? "" : ", ") + std::string(o.name);
          fail(where, "unknown option '" + key + "' (" + (names.empty() ? "it takes none" : "options: " + names) + ")");
        }
      }
      for (const Option& o : options) spec.args.push_back(option_value(l, o, input, where));
    }
    try {
      return make_layer(spec);
    } catch (const std::invalid_argument& e) {
      if (it == kinds().end() && std::string(e.what()).find("unknown layer kind") != std::string::npos) {
        fail(where, "unknown layer type '" + type + "' (the library's: " + known_kinds() +
                        "; a layer of your own must be registered with tessera::register_layer)");
      }
      fail(where, e.what());
    }
  }

  std::int64_t option_value(const json& l, const Option& o, const Shape& input, const std::string& where) const {
    if (!l.contains(o.name)) {
      switch (o.fallback) {
        case Default::Required:
          fail(where, std::string("needs the option '") + o.name + "'");
        case Default::Value:
          return o.is_float ? detail::float_arg(static_cast<float>(o.value)) : static_cast<std::int64_t>(o.value);
        case Default::InputElements:
          return input.elements();
        case Default::InputLastExtent:
          return input[input.rank() - 1];
      }
    }
    const json& v = l.at(o.name);
    if (o.is_float) {
      if (!v.is_number()) fail(where, std::string("option '") + o.name + "' must be a number, got " + v.dump());
      const double d = v.get<double>();
      if (!std::isfinite(d) || std::abs(d) > 3.4e38) fail(where, std::string("option '") + o.name + "' out of range");
      return detail::float_arg(static_cast<float>(d));
    }
    if (!v.is_number_integer()) {
      fail(where, std::string("option '") + o.name + "' must be a whole number, got " + v.dump());
    }
    return v.get<std::int64_t>();
  }

  void read_outputs(const json& doc, Graph& g) {
    if (!doc.contains("outputs")) return;  // the last layer
    const json& outputs = array_of(doc, "outputs");
    std::vector<Node> nodes;
    for (const json& n : outputs) {
      if (!n.is_string()) fail("outputs", "must name nodes, got " + n.dump());
      const auto it = nodes_.find(n.get<std::string>());
      if (it == nodes_.end()) fail("outputs", "no node named '" + n.get<std::string>() + "'");
      nodes.push_back(it->second);
    }
    try {
      g.set_outputs(std::move(nodes));
    } catch (const std::invalid_argument& e) {
      fail("outputs", e.what());
    }
  }

  TrainingRecipe read_training(const json& t) const {
    const std::string where = "training";
    if (!t.is_object()) fail(where, "must be an object");
    TrainingRecipe r;
    const auto choice = [&](const char* key, std::initializer_list<const char*> allowed) -> std::optional<std::string> {
      if (!t.contains(key)) return std::nullopt;
      const std::string v = text_of(t, key, where);
      std::string names;
      for (const char* a : allowed) {
        if (v == a) return v;
        names += (names.empty() ? "" : ", ") + std::string(a);
      }
      fail(where, std::string("'") + key + "' is one of " + names + ", got '" + v + "'");
    };
    const auto number = [&](const char* key, double low, bool low_open) -> std::optional<double> {
      if (!t.contains(key)) return std::nullopt;
      const json& v = t.at(key);
      if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < low ||
          (low_open && v.get<double>() == low)) {
        fail(where, std::string("'") + key + "' must be a number " + (low_open ? "> " : ">= ") + std::to_string(low) +
                        ", got " + v.dump());
      }
      return v.get<double>();
    };
    const auto count = [&](const char* key) -> std::optional<std::int64_t> {
      if (!t.contains(key)) return std::nullopt;
      const json& v = t.at(key);
      if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > (std::int64_t{1} << 20)) {
        fail(where, std::string("'") + key + "' must be a whole number from 1 to 2^20, got " + v.dump());
      }
      return v.get<std::int64_t>();
    };
    for (const auto& [key, value] : t.items()) {
      static const std::set<std::string> allowed{"loss",          "optimizer",    "schedule",   "init",
                                                 "learning_rate", "weight_decay", "batch_size", "epochs"};
      if (!allowed.contains(key)) {
        fail(where, "unknown key '" + key +
                        "' (loss, optimizer, schedule, init, learning_rate, weight_decay, batch_size, epochs)");
      }
    }
    r.loss = choice("loss", {"mse", "cross_entropy", "l1", "huber", "bce"});
    r.optimizer = choice("optimizer", {"sgd", "momentum", "adam"});
    r.schedule = choice("schedule", {"constant", "cosine"});
    r.init = choice("init", {"xavier_uniform", "he", "normal"});
    r.learning_rate = number("learning_rate", 0.0, true);
    r.weight_decay = number("weight_decay", 0.0, false);
    r.batch_size = count("batch_size");
    r.epochs = count("epochs");
    return r;
  }

  std::string source_;
  std::map<std::string, Node> nodes_;
  std::set<std::string> all_names_;
  Node last_;
};

}  // namespace

ModelDescription parse_model_description(std::string_view text, const std::string& source) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // e.byte is one past the character where parsing stopped.
    const auto [line, column] = line_and_column(text, e.byte > 0 ? e.byte - 1 : 0);
    std::string what = e.what();
    if (const auto cut = what.find("syntax error"); cut != std::string::npos) what = what.substr(cut);
    throw DescriptionError(source + ":" + std::to_string(line) + ":" + std::to_string(column) +
                           ": not valid JSON: " + what);
  } catch (const json::exception& e) {
    // Valid syntax the parser still cannot hold, such as a number beyond a double (1e999).
    throw DescriptionError(source + ": not a description JSON can hold: " + e.what());
  }
  try {
    return Reader(source).read(doc);
  } catch (const json::exception& e) {
    throw DescriptionError(source + ": " + e.what());
  }
}

ModelDescription read_model_description(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw DescriptionError(file.string() + ": cannot open the model description");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw DescriptionError(file.string() + ": cannot read the model description");
  return parse_model_description(text.str(), file.string());
}

std::string describe_model(const Graph& net, const TrainingRecipe& training, const std::string& name,
                           const std::string& summary) {
  // Keys in the order written (nlohmann's ordered_json), so the file reads top-down like the code.
  nlohmann::ordered_json doc;
  if (!name.empty()) doc["name"] = name;
  if (!summary.empty()) doc["description"] = summary;
  doc["inputs"] = nlohmann::ordered_json::array();
  doc["layers"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < net.node_count(); ++i) {
    const Node node{i};
    const Layer* layer = net.node_layer(node);
    if (layer == nullptr) {
      const Shape& s = net.node_shape(node);
      std::vector<std::int64_t> extents;
      for (int a = 0; a < s.rank(); ++a) extents.push_back(s[a]);
      doc["inputs"].push_back({{"name", net.node_name(node)}, {"shape", extents}});
      continue;
    }
    nlohmann::ordered_json l;
    l["name"] = net.node_name(node);
    const LayerSpec spec = layer->spec();
    l["type"] = spec.kind;
    const auto inputs = net.node_inputs(node);
    if (inputs.size() == 1) {
      l["input"] = net.node_name(inputs[0]);
    } else {
      for (const Node in : inputs) l["inputs"].push_back(net.node_name(in));
    }
    const auto it = kinds().find(spec.kind);
    if (it == kinds().end()) {
      l["args"] = spec.args;
    } else {
      for (std::size_t a = 0; a < it->second.size() && a < spec.args.size(); ++a) {
        const Option& o = it->second[a];
        if (o.is_float) {
          l[o.name] = shortest(detail::float_of_arg(spec, a));
        } else {
          l[o.name] = spec.args[a];
        }
      }
    }
    doc["layers"].push_back(std::move(l));
  }
  for (std::size_t k = 0; k < net.output_count(); ++k) doc["outputs"].push_back(net.node_name(net.output_node(k)));
  nlohmann::ordered_json t = nlohmann::ordered_json::object();
  if (training.loss) t["loss"] = *training.loss;
  if (training.optimizer) t["optimizer"] = *training.optimizer;
  if (training.learning_rate) t["learning_rate"] = shortest(static_cast<float>(*training.learning_rate));
  if (training.schedule) t["schedule"] = *training.schedule;
  if (training.weight_decay) t["weight_decay"] = shortest(static_cast<float>(*training.weight_decay));
  if (training.init) t["init"] = *training.init;
  if (training.batch_size) t["batch_size"] = *training.batch_size;
  if (training.epochs) t["epochs"] = *training.epochs;
  if (!t.empty()) doc["training"] = std::move(t);
  // One line per input, layer and section: a description reads like the code that builds it.
  std::string out = "{\n";
  bool first = true;
  for (const auto& [key, value] : doc.items()) {
    out += first ? "" : ",\n";
    first = false;
    out += "  " + nlohmann::ordered_json(key).dump() + ": ";
    if ((key == "inputs" || key == "layers") && value.is_array()) {
      out += "[\n";
      for (std::size_t i = 0; i < value.size(); ++i)
        out += "    " + value[i].dump() + (i + 1 < value.size() ? ",\n" : "\n");
      out += "  ]";
    } else {
      out += value.dump();
    }
  }
  return out + "\n}\n";
}

}  // namespace tessera
