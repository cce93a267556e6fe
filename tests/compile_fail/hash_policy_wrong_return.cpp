// key_token with a policy whose hash() returns something that is no Token names the member.
// expect: ringplan: a hash policy needs static Token hash\(const void\* data, std::size_t size\)
// noexcept
#include <ringplan/hash.hpp>

#include <cstddef>
#include <string>

struct StringHash {
    static std::string hash(const void*, std::size_t) noexcept { return {}; }
};

int main() {
    return ringplan::key_token<StringHash>(std::string("k")) == 0 ? 0 : 1;
}
