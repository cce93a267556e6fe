// Live cross-check against the installed libmemcached: for server counts 1 to 100, with equal
// and unequal weights on default and other ports, memcached_generate_hash (KETAMA_WEIGHTED,
// MD5) must pick the server ringplan's ketama ring names, for 1,000 keys per configuration and
// 100,000 keys on the largest. Registered by tests/CMakeLists.txt only when pkg-config finds
// libmemcached (label "compat").
#include <ringplan/ketama.hpp>

#include <libmemcached/memcached.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ketama = ringplan::ketama;

namespace {

// Variant 0: equal weights, default port; 1: equal weights, other ports; 2: unequal weights,
// default port; 3: unequal weights, mixed ports (as tests/data/compat/ketama_reference.c).
std::vector<ketama::Server> servers(int variant, int n) {
    std::vector<ketama::Server> out;
    for (int i = 0; i < n; ++i) {
        ketama::Server s;
        s.host = variant == 0 || variant == 2
                     ? "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)
                     : "cache-" + std::to_string(i) + ".example.com";
        s.port = static_cast<std::uint16_t>(variant == 1                 ? 11300 + i
                                            : variant == 3 && i % 2 != 0 ? 20000 + i
                                                                         : 11211);
        s.weight = variant < 2
                       ? 1u
                       : 1u + static_cast<std::uint32_t>((i * 37) % 11) + (i == 3 ? 200u : 0u);
        out.push_back(s);
    }
    return out;
}

// Returns the number of keys on which libmemcached and ringplan disagree.
long compare(const std::vector<ketama::Server>& list, int keys) {
    memcached_st* memc = memcached_create(nullptr);
    memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    memcached_server_list_st sl = nullptr;
    memcached_return_t rc;
    for (const auto& s : list) {
        sl = memcached_server_list_append_with_weight(sl, s.host.c_str(), s.port, s.weight, &rc);
    }
    memcached_server_push(memc, sl);
    memcached_server_list_free(sl);
    const auto ring = ketama::build_ring(list);
    long bad = 0;
    for (int k = 0; k < keys; ++k) {
        const std::string key = (k % 2 != 0 ? "user/" : "key:") + std::to_string(k);
        const std::uint32_t want = memcached_generate_hash(memc, key.data(), key.size());
        const std::string& got = ring.owner(key);
        if (got != ketama::node_id(list[want])) {
            if (bad < 5) {
                std::fprintf(stderr, "%zu servers: key %s: libmemcached %s, ringplan %s\n",
                             list.size(), key.c_str(), ketama::node_id(list[want]).c_str(),
                             got.c_str());
            }
            ++bad;
        }
    }
    memcached_free(memc);
    return bad;
}

}  // namespace

int main() {
    long bad = 0;
    long lookups = 0;
    for (int variant = 0; variant < 4; ++variant) {
        for (int n = 1; n <= 100; ++n) {
            bad += compare(servers(variant, n), 1000);
            lookups += 1000;
        }
        bad += compare(servers(variant, 100), 100000);
        lookups += 100000;
    }
    std::printf("ketama_live: libmemcached %s, %ld lookups, %ld mismatches\n",
                memcached_lib_version(), lookups, bad);
    return bad == 0 ? 0 : 1;
}
