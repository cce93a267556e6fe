// ringplan examples: what the example programs share: bounded line input with CRLF handling,
// a seeded hash for tables keyed by user input, output checks, and the failures that set the
// exit status.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_EXAMPLES_EXAMPLE_UTIL_HPP
#define RINGPLAN_EXAMPLES_EXAMPLE_UTIL_HPP

#include <ringplan/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <istream>
#include <limits>
#include <new>
#include <ostream>
#include <random>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>

// xxHash header-only, as ringplan itself uses it.
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

namespace example_util {

/// A bad argument, input or server: exit status 1; what() is the whole message.
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Output (stdout, a file the program keeps) that can not be written: exit status 2, as every
/// example program.
struct WriteFailure : Failure {
    using Failure::Failure;
};

/// A bad command line: the message is followed by a pointer to --help.
struct UsageFailure : Failure {
    using Failure::Failure;
};

/// The exit status for the exception being handled, after the message every example program
/// prints for it; `doing` says what the program was doing (for running out of memory). Call it
/// from `catch (...)` in main: WriteFailure exits 2, everything else 1.
inline int report_failure(const char* program, const char* doing) {
    try {
        throw;
    } catch (const WriteFailure& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return 2;
    } catch (const UsageFailure& e) {
        std::fprintf(stderr, "%s: %s\n(%s --help shows the usage)\n", program, e.what(), program);
    } catch (const Failure& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "%s: out of memory %s\n", program, doing);
    } catch (const std::length_error&) {
        std::fprintf(stderr, "%s: out of memory %s\n", program, doing);
    } catch (const ringplan::Error& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: internal error %s: %s\n", program, doing, e.what());
    }
    return 1;
}

/// Drops one trailing '\r' (the CR of a CRLF line ending).
inline void strip_cr(std::string& line) {
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
}

/// True for a line that holds nothing but spaces and tabs, or whose first other character is
/// '#' (a comment).
inline bool is_blank_or_comment(std::string_view line) {
    const std::size_t first = line.find_first_not_of(" \t");
    return first == std::string_view::npos || line[first] == '#';
}

enum class LineStatus {
    ok,        ///< `line` holds the next line, without its "\n" or "\r\n"
    too_long,  ///< the line had more than `max_bytes` bytes; it was read and thrown away
    end,       ///< no more input
};

/// Reads the next line into `line` (without "\n" and one '\r' before it), keeping at most
/// `max_bytes` bytes: a longer line is consumed to its end and reported as too_long, so one
/// huge line costs no memory beyond the limit.
inline LineStatus read_line(std::istream& in, std::string& line, std::size_t max_bytes) {
    line.clear();
    if (!in.good()) {
        return LineStatus::end;
    }
    std::streambuf* buf = in.rdbuf();
    constexpr auto eof = std::char_traits<char>::eof();
    for (bool any = false;; any = true) {
        const int c = buf->sbumpc();
        if (c == eof) {
            in.setstate(std::ios::eofbit);
            if (!any) {
                return LineStatus::end;
            }
            break;
        }
        if (c == '\n') {
            break;
        }
        if (line.size() == max_bytes) {
            // A CR ending a line of exactly max_bytes bytes is not part of the line.
            if (c == '\r' && (buf->sgetc() == '\n' || buf->sgetc() == eof)) {
                buf->sbumpc();
                return LineStatus::ok;
            }
            line.clear();
            in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
            return LineStatus::too_long;
        }
        line.push_back(static_cast<char>(c));
    }
    strip_cr(line);
    return LineStatus::ok;
}

/// Flushes `out` and says whether everything written to it so far got through.
inline bool flush_ok(std::ostream& out) {
    out.flush();
    return static_cast<bool>(out);
}

/// A hash for tables keyed by user input: XXH3 with a per-table random seed, so input can not be
/// chosen to land in one bucket (std::hash of an integer is the identity, and libstdc++'s
/// bucket counts are known primes: multiples of them all collide).
class SeededHash {
public:
    explicit SeededHash(std::uint64_t seed = random_seed()) noexcept : seed_(seed) {}

    std::size_t operator()(std::uint64_t value) const noexcept {
        return static_cast<std::size_t>(XXH3_64bits_withSeed(&value, sizeof value, seed_));
    }
    std::size_t operator()(std::string_view text) const noexcept {
        return static_cast<std::size_t>(XXH3_64bits_withSeed(text.data(), text.size(), seed_));
    }
    std::uint64_t seed() const noexcept { return seed_; }

    static std::uint64_t random_seed() {
        std::random_device device;
        return (static_cast<std::uint64_t>(device()) << 32) ^ device();
    }

private:
    std::uint64_t seed_;
};

}  // namespace example_util

#endif  // RINGPLAN_EXAMPLES_EXAMPLE_UTIL_HPP
