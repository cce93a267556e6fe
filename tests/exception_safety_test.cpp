// Strong exception safety: a failure in the middle of add_node, add_nodes,
// add_node_with_tokens, remove_node or a plan leaves the ring exactly as it was. Failures are
// injected two ways: an operator new that throws on the k-th allocation, and a node id whose
// copy (and move) throws on the k-th call.
#include "catch.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {
// Armed only inside the tests below: 0 means never fail.
long allocations_until_failure = 0;
}  // namespace

// Replacing the global allocation functions affects the whole test program; unarmed, they are
// plain malloc/free.
void* operator new(std::size_t size) {
    if (allocations_until_failure > 0 && --allocations_until_failure == 0) {
        throw std::bad_alloc();
    }
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
// Every other form allocates and frees with malloc and free too, so all pairs match (a
// sanitizer's own operator new must never meet this free).
void* operator new[](std::size_t size) {
    return operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    return std::malloc(size == 0 ? 1 : size);
}
// GCC 12 at -O3 inlines these into callers of its own operator new and then warns that free
// meets new (-Wmismatched-new-delete); here every new is this file's malloc, so they match.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#pragma GCC diagnostic pop
#endif

namespace {

using Ring = ringplan::Ring<>;

// Runs `change` with the k-th allocation failing, for k = 1, 2, ... until it succeeds. After
// every failure the ring must equal `before`; returns how many failure points were tried.
template <class R, class Change>
int fail_every_allocation(R& ring, Change&& change) {
    const R before = ring;
    for (int k = 1; k < 10000; ++k) {
        allocations_until_failure = k;
        try {
            change(ring);
            allocations_until_failure = 0;
            return k - 1;
        } catch (const std::bad_alloc&) {
            allocations_until_failure = 0;
            INFO("allocation " << k << " failed");
            REQUIRE(ring == before);
        }
    }
    allocations_until_failure = 0;
    FAIL("the change never succeeded");
    return 0;
}

Ring sample() {
    Ring ring;
    ring.add_nodes({"a", "b", "c"}, 32);
    ring.add_node_with_tokens("t", {1, 1000, ringplan::max_token});
    return ring;
}

}  // namespace

TEST_CASE("allocation failures leave the ring unchanged", "[exception_safety]") {
    {
        Ring ring = sample();
        CHECK(fail_every_allocation(ring, [](Ring& r) { r.add_node("d", 64); }) > 3);
        CHECK(ring.contains("d"));
    }
    {
        Ring ring = sample();
        CHECK(fail_every_allocation(ring, [](Ring& r) { r.add_nodes({"x", "y", "z"}, 8); }) > 3);
        CHECK(ring.node_count() == 7);
    }
    {
        Ring ring = sample();
        CHECK(fail_every_allocation(ring, [](Ring& r) {
                  r.add_node_with_tokens("u", {5, 50, 500});
              }) > 3);
        CHECK(ring.owner_at(50) == "u");
    }
    {
        Ring ring = sample();
        CHECK(fail_every_allocation(ring, [](Ring& r) { r.remove_node("b"); }) > 2);
        CHECK_FALSE(ring.contains("b"));
    }
}

TEST_CASE("allocation failures in plans leave the ring unchanged", "[exception_safety]") {
    Ring ring = sample();
    Ring after = ring;
    after.remove_node("a");
    std::vector<std::string> keys = {"k1", "k2", "k3", "k4"};
    CHECK(fail_every_allocation(ring, [&](const Ring& r) {
              (void)ringplan::project_keys<ringplan::Xxh3>(
                  ringplan::plan_leave(r, "b", ringplan::Rf{3}), keys);
          }) > 3);
    CHECK(fail_every_allocation(ring, [&](const Ring& r) {
              (void)ringplan::plan_crash(r, "b", ringplan::Rf{2});
          }) > 3);
    CHECK(fail_every_allocation(ring, [&](const Ring& r) {
              (void)ringplan::plan_join(r, "n", 16, ringplan::Rf{3});
          }) > 3);
    CHECK(fail_every_allocation(
              ring, [&](const Ring& r) { (void)ringplan::diff(r, after, ringplan::Rf{2}); }) > 3);
}

namespace {

// A node id whose copy and move throw on the k-th call, so the ring can not move its node
// table without risk and must take the copying path.
struct Fragile {
    std::string name;
    static inline long copies_until_failure = 0;

    explicit Fragile(std::string n) : name(std::move(n)) {}
    Fragile(const Fragile& o) : name(o.name) { tick(); }
    Fragile(Fragile&& o) noexcept(false) : name(std::move(o.name)) { tick(); }
    Fragile& operator=(const Fragile& o) {
        tick();
        name = o.name;
        return *this;
    }
    Fragile& operator=(Fragile&& o) noexcept(false) {
        tick();
        name = std::move(o.name);
        return *this;
    }
    static void tick() {
        if (copies_until_failure > 0 && --copies_until_failure == 0) {
            throw std::runtime_error("copy failed");
        }
    }
    friend bool operator<(const Fragile& a, const Fragile& b) { return a.name < b.name; }
    friend bool operator==(const Fragile& a, const Fragile& b) { return a.name == b.name; }
};

}  // namespace

template <>
struct ringplan::ByteRepr<Fragile> {
    static std::string_view bytes(const Fragile& f) noexcept { return f.name; }
};

TEST_CASE("a node id whose copy throws leaves the ring unchanged", "[exception_safety]") {
    using FragileRing = ringplan::Ring<ringplan::Xxh3, Fragile>;
    FragileRing ring;
    ring.add_nodes(std::vector<Fragile>{Fragile("a"), Fragile("b"), Fragile("c")}, 16);
    auto fail_every_copy = [&](auto&& change) {
        const FragileRing before = ring;
        for (long k = 1; k < 1000; ++k) {
            Fragile::copies_until_failure = k;
            try {
                change(ring);
                Fragile::copies_until_failure = 0;
                return k - 1;
            } catch (const std::runtime_error&) {
                Fragile::copies_until_failure = 0;
                INFO("copy " << k << " failed");
                REQUIRE(ring == before);
            }
        }
        Fragile::copies_until_failure = 0;
        return -1L;
    };
    const Fragile d("d");
    CHECK(fail_every_copy([&](FragileRing& r) { r.add_node(d, 8); }) > 3);
    CHECK(ring.contains(Fragile("d")));
    CHECK(fail_every_copy([&](FragileRing& r) { r.remove_node(Fragile("b")); }) > 1);
    CHECK_FALSE(ring.contains(Fragile("b")));
    CHECK(fail_every_copy([&](FragileRing& r) {
              r.add_node_with_tokens(Fragile("e"), {7, 8});
          }) > 1);
    CHECK(ring.owner_at(8) == Fragile("e"));
}

TEST_CASE("replicas into caller storage allocate nothing", "[exception_safety][replicas]") {
    Ring ring = sample();
    for (std::size_t rf = 1; rf <= 6; ++rf) {
        const std::string* out[6] = {};
        std::size_t got = 0;
        std::size_t by_key = 0;
        bool threw = false;
        // Armed at 1, the very next allocation throws: a walk that allocates would throw here.
        allocations_until_failure = 1;
        try {
            for (ringplan::Token t : {ringplan::Token{0}, ringplan::Token{999},
                                      ringplan::Token{1000}, ringplan::max_token}) {
                got += ring.replicas_at(t, ringplan::Rf(rf), out);
            }
            by_key = ring.replicas(std::string_view("user:7"), ringplan::Rf(rf), out);
        } catch (const std::bad_alloc&) {
            threw = true;
        }
        allocations_until_failure = 0;
        CHECK_FALSE(threw);
        CHECK(got == 4 * std::min<std::size_t>(rf, 4));
        CHECK(by_key == std::min<std::size_t>(rf, 4));
    }
    // The check itself works: the vector form allocates, and is refused.
    allocations_until_failure = 1;
    bool threw = false;
    try {
        (void)ring.replicas_at(0, ringplan::Rf(2));
    } catch (const std::bad_alloc&) {
        threw = true;
    }
    allocations_until_failure = 0;
    CHECK(threw);
}
