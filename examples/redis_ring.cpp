// ringplan example: client-side sharding over real Redis servers with hiredis (docs/redis_ring.md).
//
//   redis_ring --cluster FILE --rf N [--vnodes V] COMMAND
//     load COUNT                  write key:0 .. key:<COUNT-1> to their replicas
//     write COUNT [--start S]     write key:<S> .. key:<S+COUNT-1>, hinted while nodes are down
//     leave ID [--max-send K] [--max-recv K] [--naive]
//     crash ID                    the server is gone: rebuild its ranges from the survivors
//     join ID HOST:PORT           an empty server joins
//     down ID | up ID             mark a node down; bring it back and hand its hints back
//     verify [--keys N]           every key:<i> on exactly its replicas, with the right value
//
// The cluster file lists `<id> <host>:<port> [down]` lines ('#' comments). Everything is checked
// and every needed server is reached before anything is written; the file is rewritten (temp
// file + rename) only when an operation has completed. Exit status: 0 done, 1 bad input, an
// unreachable server, a failed check or lost data, 2 the cluster file or stdout could not be
// written.
// SPDX-License-Identifier: MIT
#include "redis_ring_lib.hpp"

#include <ringplan/error.hpp>
#include <ringplan/handoff.hpp>
#include <ringplan/migration.hpp>
#include <ringplan/plan.hpp>
#include <ringplan/project.hpp>
#include <ringplan/ring.hpp>
#include <ringplan/xxh3.hpp>

#include <hiredis/hiredis.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

using redis_ring::Cluster;
using redis_ring::Failure;
using redis_ring::Node;
using RingT = ringplan::Ring<ringplan::Xxh3>;
using PlanT = ringplan::Plan<std::string>;
using Clock = std::chrono::steady_clock;

constexpr std::size_t batch_keys = 1000;  // commands per pipeline round trip
constexpr std::uint64_t max_count = 100'000'000;
constexpr std::uint64_t max_vnodes = 4096;

const char* const usage_text = R"(usage: redis_ring --cluster FILE --rf N [--vnodes V] COMMAND
  load COUNT                 write key:0 .. key:<COUNT-1> (value v:<i>:<xxh3 hex>) to their replicas
  write COUNT [--start S]    write COUNT keys from key:<S>; while nodes are down the preference
                             list's fallbacks take their writes and keep hints
  leave ID [--max-send K] [--max-recv K] [--naive]
                             plan_leave: copy ID's ranges (MigrationRunner), then drop ID
                             (--naive: rescan every key of every server instead of the plan)
  crash ID                   ID's server is gone: rebuild its ranges from the survivors
  join ID HOST:PORT          an empty server joins: stream its ranges to it
  down ID                    mark ID down (writes go to fallbacks)
  up ID [--max-send K] [--max-recv K]
                             ID is back: the fallbacks hand its hints back
  verify [--keys N]          check every key:<i> (i < N with --keys) is on exactly its replicas
                             with the right value and nowhere else
--vnodes is 64 by default; the same --rf and --vnodes must be given to every command.
)";

using example_util::UsageFailure;

// ---- a hiredis connection ------------------------------------------------------------------

struct ReplyFree {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

/// One server: connected and answering PING on construction, pipelined commands after.
class Redis {
public:
    explicit Redis(const Node& node) : name_("node " + node.id + " (" + node.address() + ")") {
        const timeval connect_timeout{2, 0};
        ctx_ = redisConnectWithTimeout(node.host.c_str(), node.port, connect_timeout);
        if (ctx_ == nullptr || ctx_->err != 0) {
            throw Failure("cannot reach " + name_ + ": " +
                          (ctx_ != nullptr ? ctx_->errstr : "out of memory"));
        }
        const timeval io_timeout{30, 0};  // a stuck server fails the operation, never hangs it
        redisSetTimeout(ctx_, io_timeout);
        Reply pong = command({"PING"});
        if (pong->type != REDIS_REPLY_STATUS) {
            throw Failure(name_ + " does not answer PING: " + text(*pong));
        }
    }
    ~Redis() { redisFree(ctx_); }
    Redis(const Redis&) = delete;
    Redis& operator=(const Redis&) = delete;

    const std::string& name() const { return name_; }

    /// Queues a command; its reply is read by get() or drain().
    void append(std::initializer_list<std::string_view> args) {
        const char* argv[8];
        std::size_t lens[8];
        int argc = 0;
        for (std::string_view a : args) {
            argv[argc] = a.data();
            lens[argc] = a.size();
            ++argc;
        }
        if (redisAppendCommandArgv(ctx_, argc, argv, lens) != REDIS_OK) {
            throw Failure(name_ + ": " + ctx_->errstr);
        }
        ++pending_;
    }
    Reply get() {
        void* raw = nullptr;
        if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
            throw Failure(name_ + ": " + ctx_->errstr +
                          " (the operation stopped midway; the cluster file is unchanged)");
        }
        --pending_;
        return Reply(static_cast<redisReply*>(raw));
    }
    Reply command(std::initializer_list<std::string_view> args) {
        append(args);
        return get();
    }
    /// Reads every queued reply; an error reply fails the operation.
    void drain() {
        while (pending_ > 0) {
            Reply r = get();
            if (r->type == REDIS_REPLY_ERROR) {
                throw Failure(name_ + ": " + text(*r));
            }
        }
    }

    static std::string text(const redisReply& r) {
        return r.str != nullptr ? std::string(r.str, r.len) : std::string("(no text)");
    }

    /// Every key of the server (SCAN; sorted, without the repeats SCAN may return).
    std::vector<std::string> scan_keys() { return scan({"SCAN"}); }
    /// Every member of the set `key` (SSCAN).
    std::vector<std::string> scan_set(const std::string& key) { return scan({"SSCAN", key}); }

private:
    std::vector<std::string> scan(std::vector<std::string> head) {
        std::vector<std::string> out;
        std::string cursor = "0";
        do {
            std::vector<std::string> args = head;
            args.push_back(cursor);
            args.push_back("COUNT");
            args.push_back("1000");
            std::vector<const char*> av;
            std::vector<std::size_t> al;
            for (const std::string& a : args) {
                av.push_back(a.data());
                al.push_back(a.size());
            }
            if (redisAppendCommandArgv(ctx_, static_cast<int>(av.size()), av.data(), al.data()) !=
                REDIS_OK) {
                throw Failure(name_ + ": " + ctx_->errstr);
            }
            ++pending_;
            Reply r = get();
            if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                r->element[0]->type != REDIS_REPLY_STRING ||
                r->element[1]->type != REDIS_REPLY_ARRAY) {
                throw Failure(name_ + ": unexpected reply to " + head[0]);
            }
            cursor = text(*r->element[0]);
            const redisReply& keys = *r->element[1];
            for (std::size_t i = 0; i < keys.elements; ++i) {
                out.push_back(text(*keys.element[i]));
            }
        } while (cursor != "0");
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    std::string name_;
    redisContext* ctx_ = nullptr;
    std::size_t pending_ = 0;
};

// ---- progress --------------------------------------------------------------------------------

/// A progress bar on a terminal, a plain line every few seconds otherwise: keys moved, rate,
/// time left, and for a migration the runner's progress() (moves copied, the bar's fill: the
/// copied share of the moves' ring fractions).
class Progress {
public:
    Progress(std::string what, std::uint64_t total)
        : what_(std::move(what)), total_(total), tty_(isatty(STDERR_FILENO) == 1) {}

    void add(std::uint64_t n) {
        done_ += n;
        const auto now = Clock::now();
        const auto gap = tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(3000);
        if (now - last_ >= gap) {
            last_ = now;
            show(false);
        }
    }
    /// The runner's progress, after each done().
    void moves(const ringplan::MigrationProgress<std::string>& p) {
        runner_ = {p.copied, p.total, p.fraction_copied};
        add(0);
    }
    void finish() {
        if (shown_) {
            show(true);
        }
    }

private:
    struct RunnerShare {
        std::size_t copied = 0;
        std::size_t total = 0;
        double fraction = 0;
    };

    void show(bool last) {
        shown_ = true;
        const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
        const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
        const double left =
            rate > 0 && total_ > done_ ? static_cast<double>(total_ - done_) / rate : 0;
        const double share =
            runner_ ? runner_->fraction
                    : (total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0);
        char moves[64] = "";
        if (runner_) {
            std::snprintf(moves, sizeof moves, ", %zu/%zu moves", runner_->copied, runner_->total);
        }
        char line[240];
        if (tty_) {
            std::string bar(30, ' ');
            const auto filled = static_cast<std::size_t>(std::min(1.0, share) * 30);
            std::fill(bar.begin(), bar.begin() + static_cast<std::ptrdiff_t>(filled), '#');
            std::snprintf(line, sizeof line,
                          "\r%s [%s] %llu/%llu keys%s, %.0f keys/s, %.0f s left ", what_.c_str(),
                          bar.c_str(), static_cast<unsigned long long>(done_),
                          static_cast<unsigned long long>(total_), moves, rate, left);
            std::cerr << line << (last ? "\n" : "") << std::flush;
        } else {
            std::snprintf(line, sizeof line, "%s: %llu/%llu keys%s, %.0f keys/s, %.0f s left\n",
                          what_.c_str(), static_cast<unsigned long long>(done_),
                          static_cast<unsigned long long>(total_), moves, rate, left);
            std::cerr << line << std::flush;
        }
    }

    std::string what_;
    std::uint64_t total_;
    std::uint64_t done_ = 0;
    std::optional<RunnerShare> runner_;
    bool tty_;
    bool shown_ = false;
    Clock::time_point start_ = Clock::now();
    Clock::time_point last_ = Clock::now();
};

// ---- the command line ------------------------------------------------------------------------

struct Options {
    std::string cluster_path;
    std::optional<std::size_t> rf;
    std::uint32_t vnodes = 64;
    std::size_t max_send = 1;
    std::size_t max_recv = 1;
    std::uint64_t start = 0;
    std::optional<std::uint64_t> keys;
    bool naive = false;
    std::vector<std::string> words;  // the command and its arguments
};

Options parse_args(int argc, char** argv) {
    Options o;
    auto value = [&](int& i) -> std::string {
        if (i + 1 >= argc) {
            throw UsageFailure(std::string(argv[i]) + " needs a value");
        }
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--cluster") {
            o.cluster_path = value(i);
        } else if (a == "--rf") {
            o.rf = redis_ring::parse_number(value(i), "--rf", 1, 64);
        } else if (a == "--vnodes") {
            o.vnodes = static_cast<std::uint32_t>(
                redis_ring::parse_number(value(i), "--vnodes", 1, max_vnodes));
        } else if (a == "--max-send") {
            o.max_send = redis_ring::parse_number(value(i), "--max-send", 1, 1000);
        } else if (a == "--max-recv") {
            o.max_recv = redis_ring::parse_number(value(i), "--max-recv", 1, 1000);
        } else if (a == "--start") {
            o.start = redis_ring::parse_number(value(i), "--start", 0, max_count * 100);
        } else if (a == "--keys") {
            o.keys = redis_ring::parse_number(value(i), "--keys", 0, max_count * 100);
        } else if (a == "--naive") {
            o.naive = true;
        } else if (a.size() > 1 && a[0] == '-') {
            throw UsageFailure("unknown option '" + a + "'");
        } else {
            o.words.push_back(a);
        }
    }
    if (o.cluster_path.empty()) {
        throw UsageFailure("--cluster FILE is required");
    }
    if (o.words.empty()) {
        throw UsageFailure("no command");
    }
    return o;
}

void expect_words(const Options& o, std::size_t n, const char* form) {
    if (o.words.size() != n) {
        throw UsageFailure(std::string("usage: ") + form);
    }
}

std::size_t need_rf(const Options& o) {
    if (!o.rf) {
        throw UsageFailure("--rf N is required for " + o.words[0]);
    }
    return *o.rf;
}

// ---- the operations --------------------------------------------------------------------------

RingT make_ring(const Cluster& c, std::uint32_t vnodes) {
    RingT ring;
    std::vector<std::string> ids;
    for (const Node& n : c.nodes) {
        ids.push_back(n.id);
    }
    ring.add_nodes(ids, vnodes);
    return ring;
}

const Node& known(const Cluster& c, const std::string& id) {
    const Node* n = c.find(id);
    if (n == nullptr) {
        throw Failure("unknown node '" + id + "' (not in the cluster file)");
    }
    return *n;
}

/// Connections to the nodes of `c` that are not down, except `skip`.
std::map<std::string, std::unique_ptr<Redis>> connect(const Cluster& c,
                                                      const std::string& skip = "") {
    std::map<std::string, std::unique_ptr<Redis>> out;
    for (const Node& n : c.nodes) {
        if (!n.down && n.id != skip) {
            out.emplace(n.id, std::make_unique<Redis>(n));
        }
    }
    return out;
}

void refuse_down(const Cluster& c, const std::string& what) {
    for (const Node& n : c.nodes) {
        if (n.down) {
            throw Failure("node " + n.id + " is marked down: bring it back with 'up " + n.id +
                          "' before " + what);
        }
    }
}

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

/// A Redis error on the source of a copy (or on its scan): the runner retries the move from
/// another candidate source.
struct SourceFailure : Failure {
    using Failure::Failure;
};

/// Copies `keys` from one server to another with pipelined DUMP / RESTORE ... REPLACE (no
/// TTL); returns how many were copied (a key gone from the source is not). An error on the
/// source throws SourceFailure, one on the receiver Failure.
std::uint64_t copy_keys(Redis& from, Redis& to, const std::vector<std::string>& keys,
                        Progress& progress) {
    std::uint64_t copied = 0;
    for (std::size_t begin = 0; begin < keys.size(); begin += batch_keys) {
        const std::size_t end = std::min(keys.size(), begin + batch_keys);
        std::vector<Reply> dumps;
        try {
            for (std::size_t i = begin; i < end; ++i) {
                from.append({"DUMP", keys[i]});
            }
            for (std::size_t i = begin; i < end; ++i) {
                dumps.push_back(from.get());
            }
        } catch (const Failure& e) {
            throw SourceFailure(e.what());
        }
        std::uint64_t sent = 0;
        for (std::size_t i = begin; i < end; ++i) {
            const redisReply& d = *dumps[i - begin];
            if (d.type == REDIS_REPLY_STRING) {
                to.append({"RESTORE", keys[i], "0", std::string_view(d.str, d.len), "REPLACE"});
                ++sent;
            } else if (d.type == REDIS_REPLY_ERROR) {
                // Nothing of this batch was sent yet: the receiver's pipeline is empty.
                throw SourceFailure(from.name() + ": DUMP " + keys[i] + ": " + Redis::text(d));
            }
        }
        to.drain();
        copied += sent;
        progress.add(sent);
    }
    return copied;
}

/// Deletes `keys` on a server, pipelined.
void delete_keys(Redis& r, const std::vector<std::string>& keys) {
    for (std::size_t begin = 0; begin < keys.size(); begin += batch_keys) {
        const std::size_t end = std::min(keys.size(), begin + batch_keys);
        for (std::size_t i = begin; i < end; ++i) {
            r.append({"DEL", keys[i]});
        }
        r.drain();
    }
}

/// Keys sorted by token, to take those of a token range.
class KeysByToken {
public:
    KeysByToken() = default;
    explicit KeysByToken(std::vector<std::string> keys) {
        entries_.reserve(keys.size());
        for (std::string& k : keys) {
            const ringplan::Token t = RingT::key_token(k);
            entries_.emplace_back(t, std::move(k));
        }
        std::sort(entries_.begin(), entries_.end());
        entries_.erase(std::unique(entries_.begin(), entries_.end()), entries_.end());
    }
    /// The keys whose token lies in `r`.
    std::vector<std::string> in(ringplan::TokenRange r) const {
        auto it = std::lower_bound(entries_.begin(), entries_.end(), r.first,
                                   [](const std::pair<ringplan::Token, std::string>& e,
                                      ringplan::Token t) { return e.first < t; });
        std::vector<std::string> out;
        for (; it != entries_.end() && it->first <= r.last; ++it) {
            out.push_back(it->second);
        }
        return out;
    }

private:
    std::vector<std::pair<ringplan::Token, std::string>> entries_;
};

/// The ring's keys of a server: every key but the hint sets (which belong to their server).
std::vector<std::string> ring_keys(Redis& r) {
    std::vector<std::string> keys = r.scan_keys();
    keys.erase(std::remove_if(keys.begin(), keys.end(),
                              [](const std::string& k) { return k.rfind("ringplan:", 0) == 0; }),
               keys.end());
    return keys;
}

struct Outcome {
    std::uint64_t moved = 0;
    std::uint64_t projected = 0;
    std::uint64_t deleted = 0;
    std::size_t rounds = 0;   // calls of next() that handed out transfers
    std::size_t retries = 0;  // transfers failed() and retried from another source
};

void summary(const std::string& what, const PlanT& plan, const Outcome& o, double secs) {
    char line[400];
    std::snprintf(line, sizeof line,
                  "%s: %llu keys moved (projection %llu) in %zu moves, %zu rounds, %zu retried, "
                  "%llu copies deleted, %.2f s, %.0f keys/s\n",
                  what.c_str(), static_cast<unsigned long long>(o.moved),
                  static_cast<unsigned long long>(o.projected), plan.moves.size(), o.rounds,
                  o.retries, static_cast<unsigned long long>(o.deleted), secs,
                  secs > 0 ? static_cast<double>(o.moved) / secs : 0.0);
    std::cout << line;
    if (!example_util::flush_ok(std::cout)) {
        throw redis_ring::WriteFailure("cannot write to stdout");
    }
}

using Servers = std::map<std::string, std::unique_ptr<Redis>>;
using RunnerT = ringplan::MigrationRunner<std::string>;
using TransferT = ringplan::Transfer<std::string>;

ringplan::MigrationOptions<std::string> runner_options(const Options& opt,
                                                       std::vector<std::string> down = {}) {
    ringplan::MigrationOptions<std::string> o;
    o.max_send = opt.max_send;
    o.max_recv = opt.max_recv;
    std::sort(down.begin(), down.end());
    o.down = std::move(down);
    return o;
}

/// How one operation's migration touches the servers.
struct MigrationHooks {
    /// The keys a transfer copies (DUMP from t.from, RESTORE on t.to). SourceFailure: retry.
    std::function<std::vector<std::string>(const TransferT&)> keys_of;
    /// After cutover(): the new layout is complete, so the cluster file is rewritten.
    std::function<void()> commit;
    /// Deletes what cleanup() lists; returns how many copies were deleted.
    std::function<std::uint64_t(const RunnerT::Deletions&)> clean;
};

/// Drives `runner` make-before-break: next() hands out transfers within --max-send and
/// --max-recv, each is copied then done(), a source error fails() it so the runner retries from
/// its next candidate; with every move copied, cutover(), commit (the cluster file), cleanup()
/// and its deletions. A move failed from every candidate, or any other error before cutover,
/// abort()s: the copies abort() lists are deleted (the keys this run restored there), the old
/// layout stays and the cluster file is unchanged.
Outcome migrate(const std::string& what, RunnerT& runner, Servers& servers, std::uint64_t projected,
                const MigrationHooks& hooks) {
    Outcome out;
    out.projected = projected;
    Progress progress(what, projected);
    progress.moves(runner.progress());
    std::map<std::string, std::vector<std::string>> restored;  // per receiver, for abort()
    std::set<std::string> broken;                              // sources that failed
    try {
        for (std::vector<TransferT> batch = runner.next(); !batch.empty(); batch = runner.next()) {
            ++out.rounds;
            for (const TransferT& t : batch) {
                std::uint64_t n = 0;
                try {
                    if (broken.count(t.from) != 0 || servers.count(t.from) == 0) {
                        throw SourceFailure("node " + t.from + " failed earlier");
                    }
                    const std::vector<std::string> keys = hooks.keys_of(t);
                    std::vector<std::string>& mine = restored[t.to];
                    mine.insert(mine.end(), keys.begin(), keys.end());
                    n = copy_keys(*servers.at(t.from), *servers.at(t.to), keys, progress);
                } catch (const SourceFailure& e) {
                    broken.insert(t.from);
                    runner.failed(t);
                    ++out.retries;
                    std::cerr << "redis_ring: " << what << ": " << e.what()
                              << "; the move is retried from another source if it has one\n";
                    continue;
                }
                runner.done(t);
                out.moved += n;
                progress.moves(runner.progress());
            }
        }
        const std::vector<std::size_t> failed = runner.failed_moves();
        if (!failed.empty()) {
            const auto& m = runner.moves()[failed.front()];
            throw Failure(what + ": " + std::to_string(failed.size()) +
                          " moves failed from every candidate source (first: the range [" +
                          std::to_string(m.range.first) + ", " + std::to_string(m.range.last) +
                          "] to " + m.to + ")");
        }
        runner.cutover();
    } catch (...) {
        progress.finish();
        const RunnerT::Deletions partial = runner.abort();
        std::map<std::string, KeysByToken> by_node;
        std::uint64_t deleted = 0;
        for (const auto& [range, node] : partial) {
            const auto it = restored.find(node);
            if (it == restored.end() || servers.count(node) == 0) {
                continue;
            }
            auto [k, fresh] = by_node.try_emplace(node);
            if (fresh) {
                k->second = KeysByToken(std::move(it->second));
            }
            try {
                const std::vector<std::string> keys = k->second.in(range);
                delete_keys(*servers.at(node), keys);
                deleted += keys.size();
            } catch (const Failure& e) {
                std::cerr << "redis_ring: " << what << ": abort: " << e.what()
                          << " (its partial copies stay; verify reports them)\n";
            }
        }
        std::cerr << "redis_ring: " << what << ": aborted, " << deleted
                  << " keys copied or being copied to new owners deleted; the old layout stands "
                     "and the cluster file is unchanged\n";
        throw;
    }
    progress.finish();
    hooks.commit();
    out.deleted = hooks.clean(runner.cleanup());
    return out;
}

/// The migration of `plan` (plan_leave, plan_crash or plan_join of `node`, computed on
/// `before`): scans each planned source once, projects the plan onto the scanned keys
/// (project_keys), copies each transfer's keys (those of the range on its source, a fallback
/// source scanned when first needed), then deletes on each node cleanup() lists its keys in
/// the listed ranges (from its scan, or one made then). `servers` holds every reachable node of
/// both rings.
Outcome run_plan(const std::string& what, const PlanT& plan, const RingT& before,
                 ringplan::PlanOrigin origin, const std::string& node, Servers& servers,
                 const Options& opt, const std::function<void()>& commit) {
    RunnerT runner(plan, before, origin, node, runner_options(opt));
    std::map<std::string, KeysByToken> scanned_by;
    std::vector<std::string> scanned;  // the key set the plan is projected onto
    for (const auto& m : plan.moves) {
        if (scanned_by.count(m.from) == 0 && servers.count(m.from) != 0) {
            std::vector<std::string> keys = ring_keys(*servers.at(m.from));
            scanned.insert(scanned.end(), keys.begin(), keys.end());
            scanned_by.emplace(m.from, KeysByToken(std::move(keys)));
        }
    }
    std::sort(scanned.begin(), scanned.end());
    scanned.erase(std::unique(scanned.begin(), scanned.end()), scanned.end());
    const std::uint64_t projected = ringplan::project_keys<ringplan::Xxh3>(plan, scanned).size();

    MigrationHooks hooks;
    hooks.keys_of = [&](const TransferT& t) {
        auto it = scanned_by.find(t.from);
        if (it == scanned_by.end()) {  // a fallback source, first used: scan it
            try {
                it = scanned_by.emplace(t.from, KeysByToken(ring_keys(*servers.at(t.from)))).first;
            } catch (const Failure& e) {
                throw SourceFailure(e.what());
            }
        }
        return it->second.in(t.range);
    };
    hooks.commit = commit;
    hooks.clean = [&](const RunnerT::Deletions& list) {
        std::map<std::string, std::vector<ringplan::TokenRange>> ranges;
        for (const auto& [range, n] : list) {
            if (servers.count(n) != 0) {
                ranges[n].push_back(range);
            }
        }
        std::uint64_t deleted = 0;
        for (const auto& [n, rs] : ranges) {
            // A node's keys in the ranges it loses are as scanned: it receives none of them
            // and redis_ring takes no writes meanwhile. A node not scanned yet is scanned now.
            auto it = scanned_by.find(n);
            if (it == scanned_by.end()) {
                it = scanned_by.emplace(n, KeysByToken(ring_keys(*servers.at(n)))).first;
            }
            for (const ringplan::TokenRange& r : rs) {
                const std::vector<std::string> keys = it->second.in(r);
                delete_keys(*servers.at(n), keys);
                deleted += keys.size();
            }
        }
        return deleted;
    };
    return migrate(what, runner, servers, projected, hooks);
}

/// The end of an operation: the summary, and a moved count that differs from the projection
/// is an error (exit 1) even though the membership has changed.
int finish(const std::string& what, const PlanT& plan, const Outcome& o, Clock::time_point t0) {
    summary(what, plan, o, seconds_since(t0));
    if (o.moved != o.projected) {
        std::cerr << "redis_ring: " << what << ": moved " << o.moved
                  << " keys but the plan's projection is " << o.projected << '\n';
        return 1;
    }
    return 0;
}

int cmd_write(const Options& opt, Cluster& cluster, std::uint64_t start, std::uint64_t count) {
    const std::size_t rf = need_rf(opt);
    if (count > max_count) {
        throw Failure("at most " + std::to_string(max_count) + " keys per write");
    }
    std::size_t up = 0;
    for (const Node& n : cluster.nodes) {
        up += n.down ? 0 : 1;
    }
    if (rf > up) {
        throw Failure("rf " + std::to_string(rf) + " is larger than the " + std::to_string(up) +
                      " nodes that are up");
    }
    const RingT ring = make_ring(cluster, opt.vnodes);
    auto servers = connect(cluster);
    auto is_up = [&](const std::string& id) { return servers.count(id) != 0; };
    const auto t0 = Clock::now();
    Progress progress("write", count);
    std::uint64_t hinted = 0;
    for (std::uint64_t begin = start; begin < start + count; begin += batch_keys) {
        const std::uint64_t end = std::min(start + count, begin + batch_keys);
        for (std::uint64_t i = begin; i < end; ++i) {
            const std::string key = redis_ring::key_name(i);
            const std::string value = redis_ring::value_of(key);
            for (const auto& e : ringplan::preference_list(ring, key, ringplan::Rf{rf}, is_up)) {
                Redis& r = *servers.at(e.node);
                r.append({"SET", key, value});
                if (e.hint) {  // the fallback remembers whose key it holds
                    r.append({"SADD", "ringplan:hints:" + *e.hint, key});
                    ++hinted;
                }
            }
        }
        for (auto& [id, r] : servers) {
            r->drain();
        }
        progress.add(end - begin);
    }
    progress.finish();
    const double secs = seconds_since(t0);
    char line[200];
    std::snprintf(line, sizeof line,
                  "%s: %llu keys written with rf %zu (%llu hinted), %.2f s, %.0f keys/s\n",
                  opt.words[0].c_str(), static_cast<unsigned long long>(count), rf,
                  static_cast<unsigned long long>(hinted), secs,
                  secs > 0 ? static_cast<double>(count) / secs : 0.0);
    std::cout << line;
    if (!example_util::flush_ok(std::cout)) {
        throw redis_ring::WriteFailure("cannot write to stdout");
    }
    return 0;
}

// The naive rebalance, for comparison: scan every key of every server, re-place each with the
// new ring, copy to the new replicas that lack it, delete where it no longer belongs.
Outcome naive_leave(const RingT& before, const RingT& after, std::size_t rf,
                    std::map<std::string, std::unique_ptr<Redis>>& servers, const PlanT& plan) {
    Outcome out;
    std::unordered_map<std::string, std::vector<std::string>> holders;
    for (auto& [id, r] : servers) {
        for (std::string& key : r->scan_keys()) {
            if (key.rfind("ringplan:", 0) == 0) {
                continue;
            }
            holders[std::move(key)].push_back(id);
        }
    }
    std::vector<std::string> all;
    all.reserve(holders.size());
    for (const auto& [key, h] : holders) {
        all.push_back(key);
    }
    out.projected = ringplan::project_keys<ringplan::Xxh3>(plan, all).size();
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> copies;
    std::map<std::string, std::vector<std::string>> drop;
    for (const auto& [key, h] : holders) {
        const std::vector<std::string> now = after.replicas(key, ringplan::Rf{rf});
        for (const std::string& r : now) {
            if (std::find(h.begin(), h.end(), r) == h.end()) {
                copies[{h.front(), r}].push_back(key);
            }
        }
        for (const std::string& old : h) {
            if (std::find(now.begin(), now.end(), old) == now.end()) {
                drop[old].push_back(key);
            }
        }
    }
    (void)before;
    Progress progress("leave (naive)", out.projected);
    for (const auto& [pair, keys] : copies) {
        out.moved += copy_keys(*servers.at(pair.first), *servers.at(pair.second), keys, progress);
    }
    progress.finish();
    for (const auto& [node, keys] : drop) {
        delete_keys(*servers.at(node), keys);
        out.deleted += keys.size();
    }
    return out;
}

int cmd_leave(const Options& opt, Cluster& cluster, const std::string& id) {
    const std::size_t rf = need_rf(opt);
    known(cluster, id);
    refuse_down(cluster, "a leave");
    if (cluster.nodes.size() - 1 < rf) {
        throw Failure("after " + id + " leaves, " + std::to_string(cluster.nodes.size() - 1) +
                      " nodes would be fewer than rf " + std::to_string(rf));
    }
    const RingT before = make_ring(cluster, opt.vnodes);
    RingT after = before;
    after.remove_node(id);
    const PlanT plan = ringplan::plan_leave(before, id, ringplan::Rf{rf});
    auto servers = connect(cluster);
    const auto t0 = Clock::now();
    const std::string what = "leave " + id + (opt.naive ? " (naive)" : "");
    auto commit = [&] {
        cluster.nodes.erase(std::find_if(cluster.nodes.begin(), cluster.nodes.end(),
                                         [&](const Node& n) { return n.id == id; }));
        redis_ring::write_cluster(opt.cluster_path, cluster);
    };
    Outcome o;
    if (opt.naive) {
        o = naive_leave(before, after, rf, servers, plan);
        commit();
    } else {
        o = run_plan(what, plan, before, ringplan::PlanOrigin::leave, id, servers, opt, commit);
    }
    return finish(what, plan, o, t0);
}

int cmd_crash(const Options& opt, Cluster& cluster, const std::string& id) {
    const std::size_t rf = need_rf(opt);
    known(cluster, id);
    for (const Node& n : cluster.nodes) {
        if (n.down && n.id != id) {
            throw Failure("node " + n.id + " is marked down: bring it back with 'up " + n.id +
                          "' before a crash recovery");
        }
    }
    if (cluster.nodes.size() == 1) {
        throw Failure("node " + id + " is the last node: nothing is left to rebuild from");
    }
    const RingT before = make_ring(cluster, opt.vnodes);
    const PlanT plan = ringplan::plan_crash(before, id, ringplan::Rf{rf});
    auto servers = connect(cluster, id);
    const auto t0 = Clock::now();
    const Outcome o =
        run_plan("crash " + id, plan, before, ringplan::PlanOrigin::crash, id, servers, opt, [&] {
            cluster.nodes.erase(std::find_if(cluster.nodes.begin(), cluster.nodes.end(),
                                             [&](const Node& n) { return n.id == id; }));
            redis_ring::write_cluster(opt.cluster_path, cluster);
        });
    int status = finish("crash " + id, plan, o, t0);
    if (!plan.lost.empty()) {  // never silent: those keys had no surviving copy
        std::cerr << "redis_ring: crash " << id << ": " << plan.lost.size() << " token ranges ("
                  << plan.lost_fraction() * 100
                  << "% of the ring) had no surviving replica; their keys are lost\n";
        status = 1;
    }
    if (!plan.under_replicated.empty()) {
        std::cerr << "redis_ring: crash " << id << ": fewer nodes than rf " << rf
                  << " are left; keys have fewer copies\n";
    }
    return status;
}

int cmd_join(const Options& opt, Cluster& cluster, const std::string& id,
             const std::string& address) {
    const std::size_t rf = need_rf(opt);
    refuse_down(cluster, "a join");
    Node node;
    redis_ring::check_id(id, "");
    node.id = id;
    redis_ring::parse_address(address, node, "");
    Cluster grown = cluster;
    redis_ring::add_node(grown, node, "join: ");
    const RingT before = make_ring(cluster, opt.vnodes);
    const PlanT plan = ringplan::plan_join(before, id, opt.vnodes, ringplan::Rf{rf});
    auto servers = connect(grown);
    Reply size = servers.at(id)->command({"DBSIZE"});
    if (size->type != REDIS_REPLY_INTEGER || size->integer != 0) {
        throw Failure(servers.at(id)->name() + " is not empty: a joining server must be");
    }
    const auto t0 = Clock::now();
    const Outcome o = run_plan("join " + id, plan, before, ringplan::PlanOrigin::join, id, servers,
                               opt, [&] { redis_ring::write_cluster(opt.cluster_path, grown); });
    return finish("join " + id, plan, o, t0);
}

int cmd_down(const Options& opt, Cluster& cluster, const std::string& id) {
    Node* n = cluster.find(id);
    if (n == nullptr) {
        throw Failure("unknown node '" + id + "' (not in the cluster file)");
    }
    if (n->down) {
        throw Failure("node " + id + " is already marked down");
    }
    n->down = true;
    redis_ring::write_cluster(opt.cluster_path, cluster);
    std::cout << "down " << id << ": writes go to its fallbacks until 'up " << id << "'\n";
    return example_util::flush_ok(std::cout) ? 0 : 2;
}

// `up`: plan_hint_return names, per range, the fallback that held the returning node's hints;
// each fallback's hint set is scanned, the runner hands the moves out (a move's keys are its
// fallback's hinted keys in its range, read from whichever candidate source it names), and
// cleanup() lists (range, fallback): the fallback drops those hints and its hinted copies.
int cmd_up(const Options& opt, Cluster& cluster, const std::string& id) {
    const std::size_t rf = need_rf(opt);
    Node* self = cluster.find(id);
    if (self == nullptr) {
        throw Failure("unknown node '" + id + "' (not in the cluster file)");
    }
    if (!self->down) {
        throw Failure("node " + id + " is not marked down");
    }
    std::vector<std::string> others_down;
    for (const Node& n : cluster.nodes) {
        if (n.down && n.id != id) {
            others_down.push_back(n.id);
        }
    }
    const RingT ring = make_ring(cluster, opt.vnodes);
    const PlanT plan = ringplan::plan_hint_return(
        ring, id, ringplan::PlanOptions<std::string>(ringplan::Rf{rf}, others_down));
    RunnerT runner(plan, ring, ringplan::PlanOrigin::hint_return, id,
                   runner_options(opt, others_down));
    Cluster back = cluster;
    back.find(id)->down = false;
    auto servers = connect(back);
    const auto t0 = Clock::now();
    const std::string hints = "ringplan:hints:" + id;

    std::map<std::string, std::vector<std::size_t>> by_source;
    for (std::size_t m = 0; m < plan.moves.size(); ++m) {
        by_source[plan.moves[m].from].push_back(m);
    }
    std::map<std::string, KeysByToken> hinted_on;  // each fallback's hinted keys
    std::vector<std::string> hinted;               // every hinted key, on any node that is up
    std::uint64_t outside = 0;                     // hinted keys no move of their holder covers
    for (auto& [node, r] : servers) {
        if (node == id) {
            continue;
        }
        const auto it = by_source.find(node);
        const std::vector<std::size_t> none;
        const redis_ring::MoveBuckets buckets(plan.moves,
                                              it == by_source.end() ? none : it->second);
        std::vector<std::string> keys = r->scan_set(hints);
        for (const std::string& key : keys) {
            outside += buckets.at(RingT::key_token(key)).empty() ? 1u : 0u;
            hinted.push_back(key);
        }
        hinted_on.emplace(node, KeysByToken(std::move(keys)));
    }
    std::sort(hinted.begin(), hinted.end());
    hinted.erase(std::unique(hinted.begin(), hinted.end()), hinted.end());
    const std::uint64_t projected = ringplan::project_keys<ringplan::Xxh3>(plan, hinted).size();

    MigrationHooks hooks;
    hooks.keys_of = [&](const TransferT& t) {
        // The runner's moves are the plan's, in order: the planned fallback holds the hints.
        const auto it = hinted_on.find(plan.moves[t.id].from);
        return it == hinted_on.end() ? std::vector<std::string>{} : it->second.in(t.range);
    };
    hooks.commit = [&] { redis_ring::write_cluster(opt.cluster_path, back); };
    hooks.clean = [&](const RunnerT::Deletions& list) {
        std::uint64_t deleted = 0;
        std::map<std::string, KeysByToken> now;
        for (const auto& [range, node] : list) {
            if (servers.count(node) == 0) {
                continue;
            }
            Redis& r = *servers.at(node);
            auto [k, fresh] = now.try_emplace(node);
            if (fresh) {
                k->second = KeysByToken(r.scan_set(hints));
            }
            // The fallback drops the hint, and its hinted copy unless it is a home replica.
            std::vector<std::string> drop;
            for (const std::string& key : k->second.in(range)) {
                const auto homes = ring.replicas(key, ringplan::Rf{rf});
                if (std::find(homes.begin(), homes.end(), node) == homes.end()) {
                    drop.push_back(key);
                }
                r.append({"SREM", hints, key});
            }
            r.drain();
            delete_keys(r, drop);
            deleted += drop.size();
        }
        return deleted;
    };
    const Outcome o = migrate("up " + id, runner, servers, projected, hooks);
    int status = finish("up " + id, plan, o, t0);
    if (outside != 0) {
        std::cerr << "redis_ring: up " << id << ": " << outside
                  << " hinted keys lie outside the hint return plan and were left in place\n";
        status = 1;
    }
    return status;
}

int cmd_verify(const Options& opt, const Cluster& cluster) {
    const std::size_t rf = need_rf(opt);
    refuse_down(cluster, "verify");
    if (rf > cluster.nodes.size()) {
        throw Failure("rf " + std::to_string(rf) + " is larger than the cluster (" +
                      std::to_string(cluster.nodes.size()) + " nodes)");
    }
    const RingT ring = make_ring(cluster, opt.vnodes);
    auto servers = connect(cluster);
    std::unordered_map<std::string, std::vector<std::string>> holders;
    std::uint64_t copies = 0, wrong = 0, hint_sets = 0, other = 0, unexpected = 0;
    for (auto& [id, r] : servers) {
        std::vector<std::string> keys = r->scan_keys();
        std::vector<std::string> ours;
        for (std::string& key : keys) {
            std::uint64_t i = 0;
            if (redis_ring::parse_key(key, i)) {
                ours.push_back(std::move(key));
            } else if (key.rfind("ringplan:hints:", 0) == 0) {
                ++hint_sets;
            } else {
                ++other;
            }
        }
        for (std::size_t begin = 0; begin < ours.size(); begin += batch_keys) {
            const std::size_t end = std::min(ours.size(), begin + batch_keys);
            for (std::size_t i = begin; i < end; ++i) {
                r->append({"GET", ours[i]});
            }
            for (std::size_t i = begin; i < end; ++i) {
                Reply v = r->get();
                if (v->type != REDIS_REPLY_STRING ||
                    Redis::text(*v) != redis_ring::value_of(ours[i])) {
                    ++wrong;
                }
            }
        }
        for (std::string& key : ours) {
            ++copies;
            holders[std::move(key)].push_back(id);
        }
    }
    std::uint64_t missing = 0, misplaced = 0, keys = 0;
    auto check = [&](const std::string& key, const std::vector<std::string>* h) {
        ++keys;
        const std::vector<std::string> homes = ring.replicas(key, ringplan::Rf{rf});
        for (const std::string& home : homes) {
            if (h == nullptr || std::find(h->begin(), h->end(), home) == h->end()) {
                ++missing;
            }
        }
        if (h != nullptr) {
            for (const std::string& node : *h) {
                if (std::find(homes.begin(), homes.end(), node) == homes.end()) {
                    ++misplaced;
                }
            }
        }
    };
    if (opt.keys) {
        for (std::uint64_t i = 0; i < *opt.keys; ++i) {
            const std::string key = redis_ring::key_name(i);
            const auto it = holders.find(key);
            check(key, it == holders.end() ? nullptr : &it->second);
        }
        for (const auto& [key, h] : holders) {
            std::uint64_t i = 0;
            redis_ring::parse_key(key, i);
            if (i >= *opt.keys) {
                unexpected += h.size();
            }
        }
    } else {
        for (const auto& [key, h] : holders) {
            check(key, &h);
        }
    }
    char line[300];
    std::snprintf(
        line, sizeof line,
        "verify: %llu keys, %llu copies on %zu nodes; missing %llu, misplaced %llu, "
        "wrong values %llu, unexpected %llu, hint sets %llu, other keys %llu\n",
        static_cast<unsigned long long>(keys), static_cast<unsigned long long>(copies),
        servers.size(), static_cast<unsigned long long>(missing),
        static_cast<unsigned long long>(misplaced), static_cast<unsigned long long>(wrong),
        static_cast<unsigned long long>(unexpected), static_cast<unsigned long long>(hint_sets),
        static_cast<unsigned long long>(other));
    std::cout << line;
    if (!example_util::flush_ok(std::cout)) {
        throw redis_ring::WriteFailure("cannot write to stdout");
    }
    return missing + misplaced + wrong + unexpected + hint_sets == 0 ? 0 : 1;
}

int run(int argc, char** argv) {
    if (argc == 2 && std::string_view(argv[1]) == "--help") {
        std::cout << usage_text;
        return example_util::flush_ok(std::cout) ? 0 : 2;
    }
    const Options opt = parse_args(argc, argv);
    Cluster cluster = redis_ring::read_cluster(opt.cluster_path);
    if (opt.rf && *opt.rf > cluster.nodes.size()) {
        throw Failure("rf " + std::to_string(*opt.rf) + " is larger than the cluster (" +
                      std::to_string(cluster.nodes.size()) + " nodes)");
    }
    const std::string& cmd = opt.words[0];
    if (cmd == "load") {
        expect_words(opt, 2, "load COUNT");
        return cmd_write(opt, cluster, 0,
                         redis_ring::parse_number(opt.words[1], "COUNT", 1, max_count));
    }
    if (cmd == "write") {
        expect_words(opt, 2, "write COUNT [--start S]");
        return cmd_write(opt, cluster, opt.start,
                         redis_ring::parse_number(opt.words[1], "COUNT", 1, max_count));
    }
    if (cmd == "leave") {
        expect_words(opt, 2, "leave ID [--max-send K] [--max-recv K] [--naive]");
        return cmd_leave(opt, cluster, opt.words[1]);
    }
    if (cmd == "crash") {
        expect_words(opt, 2, "crash ID");
        return cmd_crash(opt, cluster, opt.words[1]);
    }
    if (cmd == "join") {
        expect_words(opt, 3, "join ID HOST:PORT");
        return cmd_join(opt, cluster, opt.words[1], opt.words[2]);
    }
    if (cmd == "down") {
        expect_words(opt, 2, "down ID");
        return cmd_down(opt, cluster, opt.words[1]);
    }
    if (cmd == "up") {
        expect_words(opt, 2, "up ID [--max-send K] [--max-recv K]");
        return cmd_up(opt, cluster, opt.words[1]);
    }
    if (cmd == "verify") {
        expect_words(opt, 1, "verify [--keys N]");
        return cmd_verify(opt, cluster);
    }
    throw UsageFailure("unknown command '" + cmd + "'");
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);  // a server that closes the connection is an error, not a kill
    try {
        return run(argc, argv);
    } catch (const UsageFailure& e) {
        std::cerr << "redis_ring: " << e.what() << "\n(redis_ring --help for usage)\n";
        return 1;
    } catch (const redis_ring::WriteFailure& e) {
        std::cerr << "redis_ring: " << e.what() << '\n';
        return 2;
    } catch (const Failure& e) {
        std::cerr << "redis_ring: " << e.what() << '\n';
        return 1;
    } catch (const ringplan::Error& e) {
        std::cerr << "redis_ring: " << e.what() << '\n';
        return 1;
    } catch (const std::bad_alloc&) {
        std::cerr << "redis_ring: out of memory\n";
        return 1;
    }
}
