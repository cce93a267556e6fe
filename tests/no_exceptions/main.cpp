// ringplan built with -fno-exceptions: lookups and plans work, and an error goes to the
// handler installed with set_error_handler instead of a throw. The handler here prints the
// code and message and exits with 3, which ctest expects (a handler must not return).
#include <ringplan/ringplan.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {
void report_and_exit(ringplan::Errc code, const char* message) {
    std::printf("handler: %s | %s\n", ringplan::to_string(code), message);
    std::fflush(stdout);
    std::_Exit(3);
}
}  // namespace

int main() {
    ringplan::Ring<> ring;
    ring.add_nodes({"a", "b", "c"}, 64);
    const auto plan = ringplan::plan_leave(ring, "b", ringplan::Rf{2});
    if (ring.owner("key").empty() || plan.moves.empty() || plan.moved_fraction() <= 0) {
        std::puts("lookups or plans failed without exceptions");
        return 1;
    }
    std::printf("ok: %zu vnodes, %zu moves\n", ring.vnode_count(), plan.moves.size());
    ringplan::set_error_handler(&report_and_exit);
    ring.remove_node("missing");  // unknown_node: goes to the handler, which exits with 3
    std::puts("the error handler returned");
    return 1;
}
