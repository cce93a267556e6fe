// libFuzzer entry point for the partition-operations target (tests/fuzz/partition_ops.hpp).
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include -I tests \
//       tests/fuzz/partition_fuzz.cpp -o partition_fuzz && ./partition_fuzz
//       tests/fuzz/corpus/partition_ops
#include "partition_ops.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return rp_fuzz::partition_ops_one_input(data, size);
}
