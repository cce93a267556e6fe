// libFuzzer entry point for the membership target (tests/fuzz/membership_ops.hpp).
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include -I tests \
//       tests/fuzz/membership_fuzz.cpp -lxxhash -o membership_fuzz && ./membership_fuzz
//       tests/fuzz/corpus/membership_ops
#include "membership_ops.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return rp_fuzz::membership_ops_one_input(data, size);
}
