// A Ring whose hash policy has no hash() must say which member is missing.
// expect: ringplan: a hash policy needs static Token hash\(const void\* data, std::size_t size\)
// noexcept
#include <ringplan/ring.hpp>

#include <string>

struct NoHash {
    static constexpr const char* name = "none";
};

int main() {
    ringplan::Ring<NoHash, std::string> ring;
    ring.add_node("a", 4);
    return ring.empty() ? 1 : 0;
}
