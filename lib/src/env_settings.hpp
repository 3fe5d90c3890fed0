// Environment variables that hold a list of settings, "name=value,name=value": one parser, and
// errors that quote the variable, the offending item and an example of the expected form.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tessera::detail {

inline std::invalid_argument env_setting_error(const char* variable, const std::string& text, const std::string& why,
                                               const char* example) {
  return std::invalid_argument(std::string(variable) + "=" + text + ": " + why + " (expected e.g. " + example + ")");
}

// Calls apply(name, value) for each item of text; apply returns an error message, empty when it
// took the item. Throws std::invalid_argument for an item without '=' or one apply refused.
template <class Apply>
void for_each_env_setting(const char* variable, const std::string& text, const char* example, Apply&& apply) {
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t end = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, end - pos);
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos) throw env_setting_error(variable, text, "'" + item + "' is not name=value", example);
    const std::string why = apply(item.substr(0, eq), item.substr(eq + 1));
    if (!why.empty()) throw env_setting_error(variable, text, why, example);
    pos = end + 1;
  }
}

}  // namespace tessera::detail
