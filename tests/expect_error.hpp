// The one way the tests check a refusal: the code a call raises, and its message.
#ifndef RINGPLAN_TESTS_EXPECT_ERROR_HPP
#define RINGPLAN_TESTS_EXPECT_ERROR_HPP

#include "catch.hpp"

#include <ringplan/error.hpp>

#include <optional>
#include <string>

namespace rp_test {

// The code of the ringplan::Error that `call` raises; nullopt when it raises none.
template <class Call>
std::optional<ringplan::Errc> error_code(Call&& call) {
    try {
        call();
    } catch (const ringplan::Error& e) {
        return e.code();
    }
    return std::nullopt;
}

// Checks that `call` raises ringplan::Error with `code`, that its message starts with
// "ringplan: <code>" and holds `needle`.
template <class Call>
void expect_error(Call&& call, ringplan::Errc code, const std::string& needle = "") {
    try {
        call();
        FAIL("no error was raised; expected " << ringplan::to_string(code));
    } catch (const ringplan::Error& e) {
        CHECK(e.code() == code);
        const std::string what = e.what();
        INFO(what);
        CHECK(what.find(std::string("ringplan: ") + ringplan::to_string(code)) == 0);
        CHECK(what.find(needle) != std::string::npos);
    }
}

// `text` with its first `from` replaced by `to`: a text one edit away from a good one.
inline std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

}  // namespace rp_test

#endif  // RINGPLAN_TESTS_EXPECT_ERROR_HPP
