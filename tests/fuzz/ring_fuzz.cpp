// libFuzzer entry point for the ring-operations target (tests/fuzz/ring_ops.hpp).
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include -I tests \
//       tests/fuzz/ring_fuzz.cpp -o ring_fuzz && ./ring_fuzz tests/fuzz/corpus/ring_ops
#include "ring_ops.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return rp_fuzz::ring_ops_one_input(data, size);
}
