// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// The line-oriented text form that ringplan's stateful values (the failure detector, the
// membership state machine) write and read back. Users never name anything here; each value's
// write_text/read_text documents its own lines.
//
// The rules, shared so every value reads the same way:
// - A text is lines ending in '\n'; a line is tokens separated by single spaces.
// - Unsigned numbers are decimal digits, signed ones may start with '-'; no '+', no leading
//   zeros (except "0" itself), no overflow: one value has exactly one spelling, so a value
//   written and read back is the same value and a text written twice is the same text.
// - String ids are percent-encoded (below), integral ids decimal.
#ifndef RINGPLAN_DETAIL_TEXT_HPP
#define RINGPLAN_DETAIL_TEXT_HPP

#include <ringplan/error.hpp>
#include <ringplan/version.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <locale>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN
namespace detail {

/// Reads a text line by line. fail() raises parse_error naming the current line, so every
/// reader reports "line N: what" the same way.
class TextReader {
public:
    explicit TextReader(std::string_view text) noexcept : text_(text) {}

    /// Advances to the next line; false (and no current line) at the end of the text. A final
    /// line without '\n' counts as a line; the empty rest after a final '\n' does not.
    bool next_line() noexcept {
        if (pos_ >= text_.size()) {
            line_ = {};
            ++number_;
            return false;
        }
        const std::size_t end = text_.find('\n', pos_);
        const std::size_t stop = end == std::string_view::npos ? text_.size() : end;
        line_ = text_.substr(pos_, stop - pos_);
        pos_ = end == std::string_view::npos ? text_.size() : end + 1;
        ++number_;
        return true;
    }
    /// next_line(), raising parse_error "line N: unexpected end of text, expected <what>" at
    /// the end.
    std::string_view expect_line(std::string_view what) {
        if (!next_line()) {
            fail("unexpected end of text, expected " + std::string(what));
        }
        return line_;
    }
    /// The current line, without its '\n'.
    std::string_view line() const noexcept { return line_; }
    /// The current line's number, from 1 (after the end: one past the last line).
    std::size_t line_number() const noexcept { return number_; }
    /// Whether the whole text has been read.
    bool at_end() const noexcept { return pos_ >= text_.size(); }

    /// The current line's tokens. Two spaces in a row, or a space at either end, make an
    /// empty token, which no field accepts: a text has one spelling.
    std::vector<std::string_view> tokens() const {
        std::vector<std::string_view> out;
        std::size_t start = 0;
        while (true) {
            const std::size_t space = line_.find(' ', start);
            if (space == std::string_view::npos) {
                out.push_back(line_.substr(start));
                return out;
            }
            out.push_back(line_.substr(start, space - start));
            start = space + 1;
        }
    }

    /// Raises parse_error "line N: <what>".
    [[noreturn]] void fail(const std::string& what) const {
        raise(Errc::parse_error, "line " + std::to_string(number_) + ": " + what);
    }

private:
    std::string_view text_;
    std::string_view line_;
    std::size_t pos_ = 0;
    std::size_t number_ = 0;
};

inline void write_u64(std::string& out, std::uint64_t value) {
    out += std::to_string(value);
}

inline void write_i64(std::string& out, std::int64_t value) {
    out += std::to_string(value);
}

/// Decimal digits only: no sign, no leading zero (but "0"), no overflow, nothing after.
inline std::optional<std::uint64_t> read_u64(std::string_view token) noexcept {
    if (token.empty() || token.size() > 20 || (token[0] == '0' && token.size() > 1)) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    for (const char c : token) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            return std::nullopt;
        }
        value = value * 10 + digit;
    }
    return value;
}

/// read_u64 with an optional '-' (not "-0").
inline std::optional<std::int64_t> read_i64(std::string_view token) noexcept {
    const bool negative = !token.empty() && token[0] == '-';
    const auto magnitude = read_u64(negative ? token.substr(1) : token);
    if (!magnitude) {
        return std::nullopt;
    }
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!negative) {
        return *magnitude <= max
                   ? std::optional<std::int64_t>(static_cast<std::int64_t>(*magnitude))
                   : std::nullopt;
    }
    if (*magnitude == 0 || *magnitude > max + 1) {
        return std::nullopt;
    }
    // -(max + 1) is the minimum; negate in unsigned arithmetic, where it can not overflow.
    return *magnitude == max + 1 ? std::numeric_limits<std::int64_t>::min()
                                 : -static_cast<std::int64_t>(*magnitude);
}

template <class NodeId>
struct TextId : std::integral_constant<bool, std::is_same<NodeId, std::string>::value ||
                                                 (std::is_integral<NodeId>::value &&
                                                  !std::is_same<NodeId, bool>::value)> {};

/// Appends a node id as one token. A std::string id is percent-encoded: every byte outside
/// '!'..'~' (space, control bytes, bytes above 0x7E) and '%' itself becomes "%XX" (upper-case
/// hex), everything else is itself, and the empty id is a lone "%" (which no other id gives).
/// So any bytes round-trip, and the token has no space or newline. Integral ids are decimal.
template <class NodeId>
void write_id(std::string& out, const NodeId& id) {
    static_assert(TextId<NodeId>::value,
                  "ringplan's text form holds std::string and integral node ids");
    if constexpr (std::is_same<NodeId, std::string>::value) {
        static constexpr char hex[] = "0123456789ABCDEF";
        if (id.empty()) {
            out += '%';
            return;
        }
        for (const char ch : id) {
            const auto c = static_cast<unsigned char>(ch);
            if (c <= 0x20 || c >= 0x7F || c == '%') {
                out += '%';
                out += hex[c >> 4];
                out += hex[c & 0xF];
            } else {
                out += ch;
            }
        }
    } else if constexpr (std::is_signed<NodeId>::value) {
        write_i64(out, static_cast<std::int64_t>(id));
    } else {
        write_u64(out, static_cast<std::uint64_t>(id));
    }
}

inline int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;  // lower case is not write_id's spelling
}

/// The id write_id wrote as `token`; nullopt if the token is not one write_id writes (an
/// escape that is not "%XX" in upper-case hex, a byte that should have been escaped, a number
/// out of NodeId's range).
template <class NodeId>
std::optional<NodeId> read_id(std::string_view token) {
    static_assert(TextId<NodeId>::value,
                  "ringplan's text form holds std::string and integral node ids");
    if constexpr (std::is_same<NodeId, std::string>::value) {
        if (token == "%") {
            return std::string();
        }
        if (token.empty()) {
            return std::nullopt;
        }
        std::string id;
        id.reserve(token.size());
        for (std::size_t i = 0; i < token.size(); ++i) {
            const auto c = static_cast<unsigned char>(token[i]);
            if (c <= 0x20 || c >= 0x7F) {
                return std::nullopt;
            }
            if (c != '%') {
                id += token[i];
                continue;
            }
            if (i + 2 >= token.size()) {
                return std::nullopt;
            }
            const int hi = hex_digit(token[i + 1]);
            const int lo = hex_digit(token[i + 2]);
            if (hi < 0 || lo < 0) {
                return std::nullopt;
            }
            const auto byte = static_cast<unsigned char>(hi * 16 + lo);
            if (byte > 0x20 && byte < 0x7F && byte != '%') {
                return std::nullopt;  // "%41" for 'A': not write_id's spelling
            }
            id += static_cast<char>(byte);
            i += 2;
        }
        return id;
    } else if constexpr (std::is_signed<NodeId>::value) {
        const auto v = read_i64(token);
        if (!v || *v < static_cast<std::int64_t>(std::numeric_limits<NodeId>::min()) ||
            *v > static_cast<std::int64_t>(std::numeric_limits<NodeId>::max())) {
            return std::nullopt;
        }
        return static_cast<NodeId>(*v);
    } else {
        const auto v = read_u64(token);
        if (!v || *v > static_cast<std::uint64_t>(std::numeric_limits<NodeId>::max())) {
            return std::nullopt;
        }
        return static_cast<NodeId>(*v);
    }
}

/// The shortest text that reads back as `value` (at most 17 significant digits, as printf's
/// %.17g), in the classic locale: "-1e-09", not std::to_string's "-0.000000". For messages.
inline std::string format_double(double value) {
    std::string text;
    for (int digits = 1; digits <= 17; ++digits) {
        std::ostringstream out;
        out.imbue(std::locale::classic());
        out.precision(digits);
        out << value;
        text = out.str();
        std::istringstream in(text);
        in.imbue(std::locale::classic());
        double back = 0;
        if (in >> back && back == value) {
            break;
        }
    }
    return text;
}

}  // namespace detail
RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_DETAIL_TEXT_HPP
