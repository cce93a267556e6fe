// Ring<> hashes with Xxh3, which ring.hpp only declares: using it without <ringplan/xxh3.hpp>
// says which header to include.
// expect: include <ringplan/xxh3.hpp>
#include <ringplan/ring.hpp>

int main() {
    ringplan::Ring<> ring;
    ring.add_node("a", 4);
    return ring.empty() ? 1 : 0;
}
