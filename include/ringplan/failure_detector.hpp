// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
//
// Failure detection for membership (issue 14): from the heartbeats each monitored node sent,
// whether it is suspected or down at a given time. A pure value driven by the caller's clock:
// no threads, no sockets, no system clock; time is std::chrono::milliseconds since the
// caller's epoch everywhere. Three models (docs/failure_detector.md):
//
// - akka: Akka's phi accrual detector (akka.remote.PhiAccrualFailureDetector; Hayashibara,
//   Defago, Yared and Katayama, "The phi accrual failure detector", SRDS 2004): phi from a
//   normal distribution of the heartbeat intervals, in Akka's logistic approximation.
// - cassandra: Cassandra's detector (org.apache.cassandra.gms.FailureDetector and
//   ArrivalWindow, CASSANDRA-2597): phi from an exponential distribution, delta / mean / ln 10.
// - fixed: a node is down after K missed checks of interval I (ClusterKit's health checks).
#ifndef RINGPLAN_FAILURE_DETECTOR_HPP
#define RINGPLAN_FAILURE_DETECTOR_HPP

#include <ringplan/detail/describe.hpp>
#include <ringplan/detail/text.hpp>
#include <ringplan/error.hpp>
#include <ringplan/version.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

RINGPLAN_NAMESPACE_BEGIN

/// The formula a FailureDetector turns heartbeats into decisions with.
enum class DetectorModel {
    akka,       ///< Akka's phi accrual detector: normal distribution, acceptable pause.
    cassandra,  ///< Cassandra's: exponential distribution, long intervals not recorded.
    fixed,      ///< down after a fixed number of missed checks of a fixed interval.
};

/// "akka", "cassandra" or "fixed" (the names the text form uses).
constexpr const char* to_string(DetectorModel model) noexcept {
    switch (model) {
        case DetectorModel::akka:
            return "akka";
        case DetectorModel::cassandra:
            return "cassandra";
        case DetectorModel::fixed:
            return "fixed";
    }
    return "unknown";
}

/// A FailureDetector's settings. Every field is checked by the detector's constructor,
/// whatever the model (invalid_option names the field), so options stay valid when only the
/// model is changed. Durations are whole milliseconds.
struct DetectorOptions {
    /// The most intervals kept per node.
    static constexpr std::size_t max_window = 10000;
    /// The longest duration an option takes, and the longest interval a history records
    /// (longer ones are recorded as this): 2^24 ms, about 4.7 hours. With max_window it keeps
    /// a history's sum of squares exact in 64 bits.
    static constexpr std::chrono::milliseconds max_duration{std::int64_t{1} << 24};

    DetectorModel model = DetectorModel::akka;
    /// akka, cassandra: the phi at or above which a node is down (not available). Finite, > 0.
    double threshold = 8;
    /// akka, cassandra: a node is suspected at phi >= suspect_fraction * threshold; in (0, 1].
    /// The fixed model suspects a node after one missed check.
    double suspect_fraction = 0.5;
    /// akka, cassandra: intervals kept per node, 1..max_window (Akka's max-sample-size,
    /// Cassandra's ArrivalWindow SAMPLE_SIZE, both 1000).
    std::size_t window = 1000;
    /// akka: the least standard deviation phi uses (min-std-deviation). At least 1 ms.
    std::chrono::milliseconds min_std_deviation{100};
    /// akka: added to the mean interval (acceptable-heartbeat-pause). At least 0.
    std::chrono::milliseconds acceptable_pause{3000};
    /// akka: the first heartbeat seeds the history with this mean (first-heartbeat-estimate,
    /// heartbeat-interval). cassandra: the interval recorded at the first heartbeat
    /// (fd_initial_value_ms). At least 1 ms.
    std::chrono::milliseconds first_interval{1000};
    /// cassandra: longer intervals are not recorded (fd_max_interval_ms). At least 1 ms.
    std::chrono::milliseconds max_interval{2000};
    /// fixed: the check interval I. At least 1 ms.
    std::chrono::milliseconds check_interval{5000};
    /// fixed: a node is down after this many missed checks K (at last heartbeat + K * I).
    /// At least 1.
    std::uint32_t missed_checks = 3;

    /// Akka's defaults (akka-cluster reference.conf): threshold 8, max-sample-size 1000,
    /// min-std-deviation 100 ms, acceptable-heartbeat-pause 3 s, heartbeat-interval 1 s.
    static DetectorOptions akka() { return DetectorOptions{}; }
    /// Cassandra's defaults for its 1 s gossip interval (Gossiper.intervalInMillis = 1000):
    /// phi_convict_threshold 8, SAMPLE_SIZE 1000, INITIAL_VALUE = 2 x the gossip interval =
    /// 2 s, MAX_INTERVAL = INITIAL_VALUE = 2 s.
    static DetectorOptions cassandra() {
        DetectorOptions o;
        o.model = DetectorModel::cassandra;
        o.first_interval = std::chrono::milliseconds{2000};
        o.max_interval = std::chrono::milliseconds{2000};
        return o;
    }
    /// ClusterKit's health checks: a check every I = 5 s, down after K = 3 missed.
    static DetectorOptions fixed() {
        DetectorOptions o;
        o.model = DetectorModel::fixed;
        return o;
    }

    friend bool operator==(const DetectorOptions& a, const DetectorOptions& b) {
        return a.model == b.model && a.threshold == b.threshold &&
               a.suspect_fraction == b.suspect_fraction && a.window == b.window &&
               a.min_std_deviation == b.min_std_deviation &&
               a.acceptable_pause == b.acceptable_pause && a.first_interval == b.first_interval &&
               a.max_interval == b.max_interval && a.check_interval == b.check_interval &&
               a.missed_checks == b.missed_checks;
    }
    friend bool operator!=(const DetectorOptions& a, const DetectorOptions& b) { return !(a == b); }
};

namespace detail {

// One node's heartbeat history: the last `window` recorded intervals in whole ms (a ring
// buffer, oldest at `head` once full), and their sum and sum of squares as exact integers, so
// a history read back from text has bit-identical statistics. down_after and suspect_after
// are derived from the rest by the detector after every change (not part of the value).
struct HeartbeatHistory {
    std::int64_t last = 0;  // ms of the last heartbeat
    std::vector<std::uint32_t> intervals;
    std::size_t head = 0;
    std::uint64_t sum = 0;
    std::uint64_t sum_sq = 0;
    std::uint64_t down_after = 0;     // down at last + down_after
    std::uint64_t suspect_after = 0;  // suspected from last + suspect_after

    std::size_t count() const noexcept { return intervals.size(); }
    std::uint32_t oldest_plus(std::size_t k) const noexcept {
        return intervals[(head + k) % intervals.size()];
    }
    // Strong guarantee: only growing the buffer can throw, before anything changes.
    void push(std::uint32_t interval, std::size_t window) {
        if (intervals.size() < window) {
            intervals.push_back(interval);
        } else {
            const std::uint64_t old = intervals[head];
            sum -= old;
            sum_sq -= old * old;
            intervals[head] = interval;
            head = (head + 1) % window;
        }
        sum += interval;
        sum_sq += std::uint64_t{interval} * interval;
    }
    bool same_value(const HeartbeatHistory& o) const noexcept {
        if (last != o.last || count() != o.count() || sum != o.sum || sum_sq != o.sum_sq) {
            return false;
        }
        for (std::size_t k = 0; k < count(); ++k) {
            if (oldest_plus(k) != o.oldest_plus(k)) {
                return false;
            }
        }
        return true;
    }
};

// What the constructor derives from the options once, so decisions need no exp or log.
struct DetectorLevels {
    double y_down = 0;     // akka: down when (delta - mean - pause) / sd >= y_down
    double y_suspect = 0;  // akka: suspected when ... >= y_suspect
    double c_down = 0;     // cassandra: down when delta >= c_down * mean
    double c_suspect = 0;  // cassandra: suspected when delta >= c_suspect * mean
};

inline void check_detector_options(const DetectorOptions& o);
inline DetectorLevels detector_levels(const DetectorOptions& o);
inline void derive_deadlines(const DetectorOptions& o, const DetectorLevels& levels,
                             HeartbeatHistory& h) noexcept;
inline double detector_phi(const DetectorOptions& o, const HeartbeatHistory& h,
                           std::uint64_t delta);

}  // namespace detail

/// Which monitored nodes are suspected or down, from the heartbeats they sent: a value, driven
/// by the caller's clock (`now` arguments, in ms since the caller's epoch). Copy it, compare
/// it, write it out and read it back; a detector read back makes the same decisions.
///
/// The first heartbeat of a node starts monitoring it. For a node not monitored, phi() is 0
/// and the node is available (Akka: unmanaged connections are healthy). available() is
/// `phi < threshold` and suspected() is `phi >= suspect_fraction * threshold` (fixed model:
/// fewer than K missed checks, and at least one); both are decided without exp or log, from a
/// deadline each heartbeat computes, so they give the same answer on every platform. A node's
/// decisions change only with time and its own heartbeats: available() turns false at
/// down_at() unless a heartbeat comes first.
///
/// NodeId: copyable, ordered by operator<; functions that only look a node up take anything
/// ordered against NodeId (a `const char*` or std::string_view for std::string ids). The text
/// form needs std::string or integral ids.
///
/// Errors: invalid_option (constructor), clock_backwards (a time before the node's last
/// heartbeat; nothing changes), parse_error (read_text). A failed call changes nothing.
template <class NodeId = std::string>
class FailureDetector {
public:
    using node_id = NodeId;

    /// Errors: invalid_option, naming the field and its value.
    explicit FailureDetector(DetectorOptions options = {})
        : options_((detail::check_detector_options(options), options)),
          levels_(detail::detector_levels(options_)) {}

    const DetectorOptions& options() const noexcept { return options_; }

    /// Records a heartbeat of `node` at `now`; the first starts monitoring the node.
    /// akka: the first seeds the history with two intervals, first_interval -+ a quarter of
    /// it; later ones record the interval since the last heartbeat only if the node was still
    /// available at `now` (so the gap of a failure does not skew the statistics).
    /// cassandra: the first records first_interval; later ones record the interval if it is at
    /// most max_interval. Recorded intervals are clamped to DetectorOptions::max_duration (and,
    /// for cassandra, raised to 1 ms: a 0 mean would make phi undefined).
    /// Errors: clock_backwards if `now` is before the node's last heartbeat.
    void heartbeat(const NodeId& node, std::chrono::milliseconds now);

    /// phi of `node` at `now`: 0 for a node not monitored. akka, cassandra: the models'
    /// formulas (docs/failure_detector.md); fixed: the number of missed checks,
    /// floor((now - last heartbeat) / check_interval). Errors: clock_backwards.
    template <class K, class = detail::IdArg<NodeId, K>>
    double phi(const K& node, std::chrono::milliseconds now) const {
        const detail::HeartbeatHistory* h = find(node);
        return h == nullptr ? 0.0 : detail::detector_phi(options_, *h, delta(node, *h, now));
    }
    /// Whether `node` is up at `now`: phi < threshold (fixed: missed checks < K); true for a
    /// node not monitored. Errors: clock_backwards.
    template <class K, class = detail::IdArg<NodeId, K>>
    bool available(const K& node, std::chrono::milliseconds now) const {
        const detail::HeartbeatHistory* h = find(node);
        return h == nullptr || delta(node, *h, now) < h->down_after;
    }
    /// Whether `node` is suspected at `now`: phi >= suspect_fraction * threshold (fixed: at
    /// least one missed check); false for a node not monitored. A node that is down is also
    /// suspected. Errors: clock_backwards.
    template <class K, class = detail::IdArg<NodeId, K>>
    bool suspected(const K& node, std::chrono::milliseconds now) const {
        const detail::HeartbeatHistory* h = find(node);
        return h != nullptr && delta(node, *h, now) >= h->suspect_after;
    }
    /// The first ms at which available() is false if no heartbeat comes (nullopt for a node
    /// not monitored); std::chrono::milliseconds::max() if that is beyond the clock's range.
    /// fixed: last heartbeat + K * I.
    template <class K, class = detail::IdArg<NodeId, K>>
    std::optional<std::chrono::milliseconds> down_at(const K& node) const {
        const detail::HeartbeatHistory* h = find(node);
        if (h == nullptr) {
            return std::nullopt;
        }
        return after(h->last, h->down_after);
    }
    /// The first ms at which suspected() is true if no heartbeat comes (nullopt for a node not
    /// monitored).
    template <class K, class = detail::IdArg<NodeId, K>>
    std::optional<std::chrono::milliseconds> suspected_at(const K& node) const {
        const detail::HeartbeatHistory* h = find(node);
        if (h == nullptr) {
            return std::nullopt;
        }
        return after(h->last, h->suspect_after);
    }
    /// The time of the last heartbeat of `node`; nullopt for a node not monitored.
    template <class K, class = detail::IdArg<NodeId, K>>
    std::optional<std::chrono::milliseconds> last_heartbeat(const K& node) const {
        const detail::HeartbeatHistory* h = find(node);
        if (h == nullptr) {
            return std::nullopt;
        }
        return std::chrono::milliseconds{h->last};
    }
    /// Whether `node` has sent a heartbeat (and was not removed since).
    template <class K, class = detail::IdArg<NodeId, K>>
    bool monitors(const K& node) const {
        return find(node) != nullptr;
    }
    /// Stops monitoring `node` and forgets its history; false if it was not monitored.
    template <class K, class = detail::IdArg<NodeId, K>>
    bool remove(const K& node) {
        const auto it = lower(node);
        if (it == nodes_.end() || detail::as_id<NodeId>(node) < it->id) {
            return false;
        }
        nodes_.erase(it);
        return true;
    }
    /// The number of monitored nodes.
    std::size_t size() const noexcept { return nodes_.size(); }
    /// The monitored nodes, ascending.
    [[nodiscard]] std::vector<NodeId> monitored() const {
        std::vector<NodeId> out;
        out.reserve(nodes_.size());
        for (const Entry& e : nodes_) {
            out.push_back(e.id);
        }
        return out;
    }

    /// Appends the detector's state as text: a line `failure_detector <model> <nodes>`, then
    /// one line per node, ascending, `node <id> <last heartbeat ms> <n> <interval>...` with
    /// the n recorded intervals oldest first. Ids are written as detail::write_id does
    /// (percent-encoded strings, decimal integers). The options are not written: the reader
    /// supplies them.
    void write_text(std::string& out) const;
    /// Reads what write_text wrote, consuming exactly its lines, into a detector with
    /// `options`; the result equals the detector written (with those options) and makes the
    /// same decisions. Errors: invalid_option; parse_error "line N: ..." for text write_text
    /// would not write (a model other than options.model, more intervals than options.window,
    /// ids out of order, a number that does not parse, a missing line).
    static FailureDetector read_text(detail::TextReader& in, DetectorOptions options);

    /// Same options, same nodes, same heartbeat times and recorded intervals.
    friend bool operator==(const FailureDetector& a, const FailureDetector& b) {
        if (a.options_ != b.options_ || a.nodes_.size() != b.nodes_.size()) {
            return false;
        }
        for (std::size_t i = 0; i < a.nodes_.size(); ++i) {
            if (a.nodes_[i].id < b.nodes_[i].id || b.nodes_[i].id < a.nodes_[i].id ||
                !a.nodes_[i].history.same_value(b.nodes_[i].history)) {
                return false;
            }
        }
        return true;
    }
    friend bool operator!=(const FailureDetector& a, const FailureDetector& b) { return !(a == b); }

private:
    struct Entry {
        NodeId id;
        detail::HeartbeatHistory history;
    };

    template <class K>
    typename std::vector<Entry>::const_iterator lower(const K& key) const {
        const auto& id = detail::as_id<NodeId>(key);
        return std::lower_bound(nodes_.begin(), nodes_.end(), id,
                                [](const Entry& e, const auto& v) { return e.id < v; });
    }
    template <class K>
    typename std::vector<Entry>::iterator lower(const K& key) {
        const auto& id = detail::as_id<NodeId>(key);
        return std::lower_bound(nodes_.begin(), nodes_.end(), id,
                                [](const Entry& e, const auto& v) { return e.id < v; });
    }
    template <class K>
    const detail::HeartbeatHistory* find(const K& key) const {
        const auto it = lower(key);
        if (it == nodes_.end() || detail::as_id<NodeId>(key) < it->id) {
            return nullptr;
        }
        return &it->history;
    }
    // now - last as an unsigned count of ms (exact for any two int64 times), or
    // clock_backwards.
    template <class K>
    static std::uint64_t delta(const K& node, const detail::HeartbeatHistory& h,
                               std::chrono::milliseconds now) {
        const std::int64_t t = now.count();
        if (t < h.last) {
            backwards("node " + detail::describe(detail::as_id<NodeId>(node)) + ": time " +
                          std::to_string(t) + " ms",
                      h.last);
        }
        return static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(h.last);
    }
    [[noreturn]] static void backwards(const std::string& what, std::int64_t last) {
        detail::raise(Errc::clock_backwards,
                      what + " is before its last heartbeat at " + std::to_string(last) + " ms");
    }
    static std::chrono::milliseconds after(std::int64_t last, std::uint64_t d) noexcept {
        // The deadlines stay below 2^62 (detail::derive_deadlines), so d fits an int64.
        const std::uint64_t room =
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) -
            static_cast<std::uint64_t>(last);
        if (d > room) {
            return std::chrono::milliseconds::max();
        }
        return std::chrono::milliseconds{last + static_cast<std::int64_t>(d)};
    }
    // The first heartbeat's history, as each model seeds it.
    detail::HeartbeatHistory first_history(std::int64_t now) const;
    static void add_node_line(std::string& out, const Entry& e);

    DetectorOptions options_;
    detail::DetectorLevels levels_;
    std::vector<Entry> nodes_;  // ascending by id
};

// ---- implementation ------------------------------------------------------------------------

namespace detail {

// The longest recorded interval, and the cap on every deadline (so last + deadline is computed
// without overflow and a deadline fits an int64).
constexpr std::uint32_t max_recorded_interval =
    static_cast<std::uint32_t>(DetectorOptions::max_duration.count());
constexpr std::uint64_t max_deadline = std::uint64_t{1} << 62;
// ln 10, and Cassandra's PHI_FACTOR = 1 / Math.log(10.0).
constexpr double ln10 = 2.302585092994045684017991454684364208;
constexpr double cassandra_phi_factor = 1.0 / ln10;

inline void check_duration(const char* name, std::chrono::milliseconds value, std::int64_t least) {
    if (value.count() < least || value > DetectorOptions::max_duration) {
        raise(Errc::invalid_option, std::string("option ") + name + " must be in [" +
                                        std::to_string(least) + ", " +
                                        std::to_string(DetectorOptions::max_duration.count()) +
                                        "] ms, got " + std::to_string(value.count()) + " ms");
    }
}

inline void check_detector_options(const DetectorOptions& o) {
    if (o.model != DetectorModel::akka && o.model != DetectorModel::cassandra &&
        o.model != DetectorModel::fixed) {
        raise(Errc::invalid_option, "option model must be akka, cassandra or fixed, got " +
                                        std::to_string(static_cast<int>(o.model)));
    }
    if (!(o.threshold > 0) || !std::isfinite(o.threshold)) {  // also NaN
        raise(Errc::invalid_option, "option threshold must be a finite number above 0, got " +
                                        format_double(o.threshold));
    }
    if (!(o.suspect_fraction > 0 && o.suspect_fraction <= 1)) {
        raise(Errc::invalid_option, "option suspect_fraction must be in (0, 1], got " +
                                        format_double(o.suspect_fraction));
    }
    if (o.window < 1 || o.window > DetectorOptions::max_window) {
        raise(Errc::invalid_option, "option window must be in [1, " +
                                        std::to_string(DetectorOptions::max_window) + "], got " +
                                        std::to_string(o.window));
    }
    check_duration("min_std_deviation", o.min_std_deviation, 1);
    check_duration("acceptable_pause", o.acceptable_pause, 0);
    check_duration("first_interval", o.first_interval, 1);
    check_duration("max_interval", o.max_interval, 1);
    check_duration("check_interval", o.check_interval, 1);
    if (o.missed_checks < 1) {
        raise(Errc::invalid_option, "option missed_checks must be at least 1, got 0");
    }
}

// Akka's phi for a normalized interval y = (delta - mean) / sd, its logistic approximation of
// the normal CDF (PhiAccrualFailureDetector.phi): e = exp(-y (1.5976 + 0.070566 y^2)),
// phi = -log10(e / (1 + e)) above the mean, -log10(1 - 1 / (1 + e)) at or below it. Akka tests
// timeDiff > mean, which is y > 0. Rises from 0 (y below about -23, where e overflows) to
// infinity (y above about 23, where e underflows).
inline double akka_phi_of(double y) noexcept {
    const double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
    const double phi = y > 0 ? -std::log10(e / (1.0 + e)) : -std::log10(1.0 - 1.0 / (1.0 + e));
    return phi + 0.0;  // -log10(1) is -0; report +0
}

// Doubles as integers in the same order (both zeros at 0), for an exact bisection.
inline std::int64_t ordered_bits(double x) noexcept {
    std::int64_t b = 0;
    std::memcpy(&b, &x, sizeof b);
    return b < 0 ? std::numeric_limits<std::int64_t>::min() - b : b;
}
inline double from_ordered_bits(std::int64_t k) noexcept {
    const std::int64_t b = k < 0 ? std::numeric_limits<std::int64_t>::min() - k : k;
    double x = 0;
    std::memcpy(&x, &b, sizeof x);
    return x;
}

// The least double y in [-64, 64] with akka_phi_of(y) >= level, by bisection over the doubles
// themselves (64 steps): phi is monotone in y, so "phi >= level" is "y >= this", and decisions
// compare y (or an integer deadline derived from it) instead of calling exp and log.
inline double akka_y_at(double level) noexcept {
    std::int64_t lo = ordered_bits(-64.0);  // phi 0 < level
    std::int64_t hi = ordered_bits(64.0);   // phi infinite >= level
    while (static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) > 1) {
        const std::int64_t mid =
            lo + static_cast<std::int64_t>(
                     (static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo)) / 2);
        if (akka_phi_of(from_ordered_bits(mid)) >= level) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    return from_ordered_bits(hi);
}

inline DetectorLevels detector_levels(const DetectorOptions& o) {
    DetectorLevels l;
    const double suspect = o.suspect_fraction * o.threshold;
    if (o.model == DetectorModel::akka) {
        l.y_down = akka_y_at(o.threshold);
        l.y_suspect = akka_y_at(suspect);
    } else if (o.model == DetectorModel::cassandra) {
        // phi = delta / (mean ln 10) >= level  <=>  delta >= level ln 10 mean.
        l.c_down = o.threshold * ln10;
        l.c_suspect = suspect * ln10;
    }
    return l;
}

// Akka's statistics (HeartbeatHistory): mean = sum / n, variance = sum of squares / n - mean^2,
// sd = max(sqrt(variance), min_std_deviation); the centre is mean + acceptable pause. A
// variance that rounds below 0 counts as 0 (Akka would take sqrt of it and get NaN).
struct AkkaStats {
    double centre;
    double sd;
    double y(std::uint64_t delta) const noexcept {
        return (static_cast<double>(delta) - centre) / sd;
    }
};
inline AkkaStats akka_stats(const DetectorOptions& o, const HeartbeatHistory& h) noexcept {
    const auto n = static_cast<double>(h.count());
    const double mean = static_cast<double>(h.sum) / n;
    const double variance = static_cast<double>(h.sum_sq) / n - mean * mean;
    const double sd = variance > 0 ? std::sqrt(variance) : 0.0;  // IEEE sqrt: exact rounding
    return {mean + static_cast<double>(o.acceptable_pause.count()),
            std::max(sd, static_cast<double>(o.min_std_deviation.count()))};
}

// The least whole delta with y(delta) >= y_level. The estimate centre + y_level sd is within
// rounding of it; the steps make the answer agree exactly with comparing y (y is monotone in
// delta). centre + 64 sd < 2^31, so this is small and exact.
inline std::uint64_t akka_deadline(const AkkaStats& s, double y_level) noexcept {
    const double estimate = s.centre + y_level * s.sd;
    std::uint64_t d = estimate > 0 ? static_cast<std::uint64_t>(std::ceil(estimate)) : 0;
    while (d > 0 && s.y(d - 1) >= y_level) {
        --d;
    }
    while (s.y(d) < y_level) {
        ++d;
    }
    return d;
}

// The least whole delta with delta >= c mean: ceil(c mean), capped at max_deadline.
inline std::uint64_t cassandra_deadline(double c, double mean) noexcept {
    const double x = c * mean;
    if (!(x > 0)) {
        return 0;
    }
    if (x >= static_cast<double>(max_deadline)) {
        return max_deadline;
    }
    return static_cast<std::uint64_t>(std::ceil(x));
}

inline void derive_deadlines(const DetectorOptions& o, const DetectorLevels& levels,
                             HeartbeatHistory& h) noexcept {
    switch (o.model) {
        case DetectorModel::akka: {
            const AkkaStats s = akka_stats(o, h);
            h.down_after = akka_deadline(s, levels.y_down);
            h.suspect_after = akka_deadline(s, levels.y_suspect);
            return;
        }
        case DetectorModel::cassandra: {
            const double mean = static_cast<double>(h.sum) / static_cast<double>(h.count());
            h.down_after = cassandra_deadline(levels.c_down, mean);
            h.suspect_after = cassandra_deadline(levels.c_suspect, mean);
            return;
        }
        case DetectorModel::fixed:
            // missed = floor(delta / I) >= K  <=>  delta >= K I; K I <= 2^32 2^24 < 2^62.
            h.down_after = std::uint64_t{o.missed_checks} *
                           static_cast<std::uint64_t>(o.check_interval.count());
            h.suspect_after = static_cast<std::uint64_t>(o.check_interval.count());
            return;
    }
}

inline double detector_phi(const DetectorOptions& o, const HeartbeatHistory& h,
                           std::uint64_t delta) {
    switch (o.model) {
        case DetectorModel::akka:
            return akka_phi_of(akka_stats(o, h).y(delta));
        case DetectorModel::cassandra: {
            // ArrivalWindow.phi: t / mean, scaled by PHI_FACTOR in FailureDetector.interpret.
            const double mean = static_cast<double>(h.sum) / static_cast<double>(h.count());
            return cassandra_phi_factor * (static_cast<double>(delta) / mean);
        }
        case DetectorModel::fixed:
            return static_cast<double>(delta /
                                       static_cast<std::uint64_t>(o.check_interval.count()));
    }
    return 0;
}

inline std::uint32_t clamp_interval(std::uint64_t delta) noexcept {
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(delta, max_recorded_interval));
}

}  // namespace detail

template <class NodeId>
detail::HeartbeatHistory FailureDetector<NodeId>::first_history(std::int64_t now) const {
    detail::HeartbeatHistory h;
    h.last = now;
    const auto first = static_cast<std::uint32_t>(options_.first_interval.count());
    if (options_.model == DetectorModel::akka) {
        // Akka's firstHeartbeat: two intervals mean -+ mean / 4 (integer division), "rather
        // high standard deviation", so a node with one heartbeat still becomes unavailable.
        const std::uint32_t sd = first / 4;
        h.push(first - sd, options_.window);
        h.push(first + sd, options_.window);
    } else if (options_.model == DetectorModel::cassandra) {
        // ArrivalWindow.add: the first heartbeat records INITIAL_VALUE ("err high").
        h.push(first, options_.window);
    }
    detail::derive_deadlines(options_, levels_, h);
    return h;
}

template <class NodeId>
void FailureDetector<NodeId>::heartbeat(const NodeId& node, std::chrono::milliseconds now) {
    const std::int64_t t = now.count();
    auto it = lower(node);
    if (it == nodes_.end() || node < it->id) {
        Entry e{node, first_history(t)};
        nodes_.insert(it, std::move(e));  // strong: nothing changes if it throws
        return;
    }
    detail::HeartbeatHistory& h = it->history;
    if (t < h.last) {
        backwards(
            "heartbeat of node " + detail::describe(node) + " at " + std::to_string(t) + " ms",
            h.last);
    }
    const std::uint64_t d = static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(h.last);
    switch (options_.model) {
        case DetectorModel::akka:
            // "don't use the first heartbeat after failure for the history, since a long pause
            // will skew the stats": record only if the node was still available at `now`.
            if (d < h.down_after) {
                h.push(detail::clamp_interval(d), options_.window);
            }
            break;
        case DetectorModel::cassandra:
            // ArrivalWindow.add: "never record an interval longer than" MAX_INTERVAL (<=).
            if (d <= static_cast<std::uint64_t>(options_.max_interval.count())) {
                h.push(std::max<std::uint32_t>(detail::clamp_interval(d), 1), options_.window);
            }
            break;
        case DetectorModel::fixed:
            break;
    }
    h.last = t;
    detail::derive_deadlines(options_, levels_, h);
}

template <class NodeId>
void FailureDetector<NodeId>::add_node_line(std::string& out, const Entry& e) {
    out += "node ";
    detail::write_id(out, e.id);
    out += ' ';
    detail::write_i64(out, e.history.last);
    out += ' ';
    detail::write_u64(out, e.history.count());
    for (std::size_t k = 0; k < e.history.count(); ++k) {
        out += ' ';
        detail::write_u64(out, e.history.oldest_plus(k));
    }
    out += '\n';
}

template <class NodeId>
void FailureDetector<NodeId>::write_text(std::string& out) const {
    std::string text = "failure_detector ";
    text += to_string(options_.model);
    text += ' ';
    detail::write_u64(text, nodes_.size());
    text += '\n';
    for (const Entry& e : nodes_) {
        add_node_line(text, e);
    }
    out += text;  // one append: `out` is unchanged if building the text throws
}

template <class NodeId>
FailureDetector<NodeId> FailureDetector<NodeId>::read_text(detail::TextReader& in,
                                                           DetectorOptions options) {
    FailureDetector fd(options);
    in.expect_line("a 'failure_detector <model> <nodes>' line");
    const std::vector<std::string_view> head = in.tokens();
    if (head.size() != 3 || head[0] != "failure_detector") {
        in.fail("expected 'failure_detector <model> <nodes>'");
    }
    if (head[1] != to_string(options.model)) {
        in.fail("the detector was written with the model '" + std::string(head[1]) +
                "', but the options name '" + to_string(options.model) + "'");
    }
    const std::optional<std::uint64_t> count = detail::read_u64(head[2]);
    if (!count) {
        in.fail("the node count is not a number");
    }
    for (std::uint64_t i = 0; i < *count; ++i) {
        in.expect_line("a 'node' line");
        const std::vector<std::string_view> tok = in.tokens();
        if (tok.size() < 4 || tok[0] != "node") {
            in.fail("expected 'node <id> <last heartbeat> <n> <interval>...'");
        }
        std::optional<NodeId> id = detail::read_id<NodeId>(tok[1]);
        if (!id) {
            in.fail("the node id is not one write_text writes");
        }
        if (!fd.nodes_.empty() && !(fd.nodes_.back().id < *id)) {
            in.fail("the node ids are not in ascending order, or repeat");
        }
        const std::optional<std::int64_t> last = detail::read_i64(tok[2]);
        if (!last) {
            in.fail("the last heartbeat is not a number of ms");
        }
        const std::optional<std::uint64_t> n = detail::read_u64(tok[3]);
        if (!n || *n != tok.size() - 4) {
            in.fail("the interval count is not the number of intervals on the line");
        }
        if (*n > options.window) {
            in.fail(std::to_string(*n) + " intervals do not fit the window of " +
                    std::to_string(options.window));
        }
        if ((*n == 0) != (options.model == DetectorModel::fixed)) {
            in.fail(options.model == DetectorModel::fixed
                        ? "the fixed model records no intervals"
                        : "a monitored node has at least one interval");
        }
        detail::HeartbeatHistory h;
        h.last = *last;
        const std::uint64_t least = options.model == DetectorModel::cassandra ? 1 : 0;
        for (std::size_t k = 4; k < tok.size(); ++k) {
            const std::optional<std::uint64_t> v = detail::read_u64(tok[k]);
            if (!v || *v < least || *v > detail::max_recorded_interval) {
                in.fail("interval " + std::to_string(k - 3) + " is not a whole number of ms in [" +
                        std::to_string(least) + ", " +
                        std::to_string(detail::max_recorded_interval) + "]");
            }
            h.push(static_cast<std::uint32_t>(*v), options.window);
        }
        detail::derive_deadlines(fd.options_, fd.levels_, h);
        fd.nodes_.push_back(Entry{std::move(*id), std::move(h)});
    }
    return fd;
}

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_FAILURE_DETECTOR_HPP
