// Checks that code throws an exception of a given type whose message contains a given fragment.
#pragma once

#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <string>

namespace tessera::test {

template <class E = std::invalid_argument, class F>
void expect_error(F&& f, const std::string& fragment) {
  try {
    f();
    BOOST_ERROR("no exception; expected one mentioning '" << fragment << "'");
  } catch (const E& e) {
    BOOST_TEST(std::string(e.what()).find(fragment) != std::string::npos,
               "message '" << e.what() << "' should mention '" << fragment << "'");
  }
}

// The usual case: std::invalid_argument.
template <class F>
void expect_invalid(F&& f, const std::string& fragment) {
  expect_error<std::invalid_argument>(std::forward<F>(f), fragment);
}

}  // namespace tessera::test
