// libFuzzer entry point for the departure protocol's parser and engine
// (tests/fuzz/departure_input.hpp).
#include "departure_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return rp_fuzz::departure_one_input(data, size);
}
