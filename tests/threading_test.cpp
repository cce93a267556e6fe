// Threading: the contract of docs/threading.md. Many threads call const members of one ring at
// once; a writer publishes new rings as std::shared_ptr<const Ring> under live readers, with
// std::atomic_load/std::atomic_store (C++17) or std::atomic<std::shared_ptr> (C++20). The tsan
// preset runs these under ThreadSanitizer. Catch2's assertions are not thread-safe: threads
// count what they find and the test thread checks the counts.
#include "catch.hpp"

#include <ringplan/ringplan.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Ring = ringplan::Ring<>;

constexpr int reader_threads = 4;

std::vector<std::string> make_keys(std::size_t n) {
    std::vector<std::string> keys;
    keys.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        keys.push_back("key-" + std::to_string(i));
    }
    return keys;
}

Ring make_ring(int nodes) {
    Ring ring;
    for (int i = 0; i < nodes; ++i) {
        ring.add_node("node-" + std::to_string(i), 32);
    }
    return ring;
}

// Runs `body(thread_index)` on reader_threads threads and waits for them.
template <class F>
void run_readers(F body) {
    std::vector<std::thread> threads;
    for (int t = 0; t < reader_threads; ++t) {
        threads.emplace_back(body, t);
    }
    for (auto& thread : threads) {
        thread.join();
    }
}

// What a reader checks on the snapshot it holds: every answer comes from that one ring.
bool consistent(const Ring& ring, const std::string& key) {
    const std::string& owner = ring.owner(key);
    const std::vector<std::string> replicas = ring.replicas(key, ringplan::Rf{2});
    return ring.contains(owner) && !replicas.empty() && replicas.front() == owner &&
           owner == ring.owner_at(Ring::key_token(key));
}

}  // namespace

TEST_CASE("const members of one ring may run on many threads at once", "[threading]") {
    const Ring ring = make_ring(6);
    const std::vector<std::string> keys = make_keys(500);
    std::vector<std::string> owners;
    std::vector<std::vector<std::string>> replicas;
    for (const auto& key : keys) {
        owners.push_back(ring.owner(key));
        replicas.push_back(ring.replicas(key, ringplan::Rf{3}));
    }
    const auto leave = ringplan::plan_leave(ring, "node-2", ringplan::Rf{2});
    const auto ranges = ring.ranges_of("node-0");

    std::atomic<int> wrong{0};
    run_readers([&](int t) {
        for (std::size_t i = 0; i < keys.size(); ++i) {
            const std::size_t k = (i + static_cast<std::size_t>(t) * 97) % keys.size();
            if (ring.owner(keys[k]) != owners[k] ||
                ring.replicas(keys[k], ringplan::Rf{3}) != replicas[k]) {
                ++wrong;
            }
        }
        std::vector<const std::string*> batch(keys.size());
        ring.owners(keys.data(), keys.size(), batch.data());
        for (std::size_t k = 0; k < keys.size(); ++k) {
            if (*batch[k] != owners[k]) {
                ++wrong;
            }
        }
        // Plans only read their rings, so they too run alongside lookups.
        if (ringplan::plan_leave(ring, "node-2", ringplan::Rf{2}).moves != leave.moves ||
            ring.ranges_of("node-0") != ranges) {
            ++wrong;
        }
    });
    CHECK(wrong.load() == 0);
}

namespace {

// The published ring, C++17: std::atomic_load/std::atomic_store on a plain shared_ptr
// (deprecated in C++20, which has std::atomic<std::shared_ptr>; still provided).
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
struct FreeFunctionCell {
    std::shared_ptr<const Ring> ring;
    explicit FreeFunctionCell(std::shared_ptr<const Ring> r) : ring(std::move(r)) {}
    std::shared_ptr<const Ring> load() const { return std::atomic_load(&ring); }
    void store(std::shared_ptr<const Ring> r) { std::atomic_store(&ring, std::move(r)); }
};
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

// libstdc++ 12's std::atomic<std::shared_ptr> locks with a bit of its own pointer, which
// ThreadSanitizer can not follow: it reports races that are not there (google/sanitizers#1558).
// Test it where TSan is off or understands it.
#if defined(__SANITIZE_THREAD__)
#define RINGPLAN_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RINGPLAN_TEST_TSAN 1
#endif
#endif
#if defined(__cpp_lib_atomic_shared_ptr) && \
    !(defined(RINGPLAN_TEST_TSAN) && defined(_GLIBCXX_RELEASE) && _GLIBCXX_RELEASE < 13)
#define RINGPLAN_TEST_ATOMIC_SHARED_PTR 1
// The published ring, C++20.
struct AtomicCell {
    std::atomic<std::shared_ptr<const Ring>> ring;
    explicit AtomicCell(std::shared_ptr<const Ring> r) : ring(std::move(r)) {}
    std::shared_ptr<const Ring> load() const { return ring.load(); }
    void store(std::shared_ptr<const Ring> r) { ring.store(std::move(r)); }
};
#endif

// One writer publishes `publications` new rings, each the last one plus a node, while readers
// look keys up in whatever snapshot they loaded. Returns the readers' wrong answers.
template <class Cell>
int publish_under_readers(long& lookups) {
    constexpr int publications = 24;
    const std::vector<std::string> keys = make_keys(200);
    Cell published(std::make_shared<const Ring>(make_ring(4)));

    std::atomic<bool> done{false};
    std::atomic<int> wrong{0};
    std::atomic<long> count{0};
    std::thread writer([&] {
        for (int i = 0; i < publications; ++i) {
            // Copy the current ring, change the copy, publish it: readers keep their snapshot.
            auto next = std::make_shared<Ring>(*published.load());
            next->add_node("joined-" + std::to_string(i), 32);
            published.store(std::move(next));
        }
        done = true;
    });
    run_readers([&](int) {
        std::size_t seen = 0;
        for (std::size_t i = 0; !done || i < keys.size(); ++i) {
            const std::shared_ptr<const Ring> ring = published.load();
            if (!consistent(*ring, keys[i % keys.size()]) || ring->node_count() < seen) {
                ++wrong;
            }
            seen = ring->node_count();  // publications only add nodes
            ++count;
        }
    });
    writer.join();
    if (published.load()->node_count() != 4 + publications) {
        ++wrong;
    }
    lookups = count.load();
    return wrong.load();
}

}  // namespace

TEST_CASE("a writer publishes new rings with std::atomic_store under live readers", "[threading]") {
    long lookups = 0;
    CHECK(publish_under_readers<FreeFunctionCell>(lookups) == 0);
    CHECK(lookups > 0);
}

#if defined(RINGPLAN_TEST_ATOMIC_SHARED_PTR)
TEST_CASE("a writer publishes new rings through std::atomic<std::shared_ptr> under live readers",
          "[threading]") {
    long lookups = 0;
    CHECK(publish_under_readers<AtomicCell>(lookups) == 0);
    CHECK(lookups > 0);
}
#endif

TEST_CASE("a plan outlives its ring, and key moves outlive their plan's copies", "[threading]") {
    auto ring = std::make_unique<Ring>(make_ring(4));
    auto plan = std::make_unique<ringplan::Plan<std::string>>(
        ringplan::plan_leave(*ring, "node-1", ringplan::Rf{2}));
    ring.reset();  // the plan holds copies of the node ids, not references into the ring
    const auto keys = ringplan::project_keys<ringplan::Xxh3>(*plan, make_keys(100));
    REQUIRE_FALSE(keys.empty());
    const ringplan::Plan<std::string> copy = *plan;
    plan.reset();  // a KeyMove names its move by index: it reads the same from any copy
    for (const auto& key_move : keys) {
        REQUIRE(key_move.move < copy.moves.size());
        CHECK(copy.moves[key_move.move].from == "node-1");
    }
}
