// The free key_token has no default policy: a key's token depends on the ring's hash (ketama and
// Cassandra rings hash keys their own way), so the caller must name it.
// expect: (deduce|infer) template (parameter|argument) [^ ]*Hash
#include <ringplan/ringplan.hpp>

int main() {
    return ringplan::key_token(std::string("k")) == 0 ? 0 : 1;
}
