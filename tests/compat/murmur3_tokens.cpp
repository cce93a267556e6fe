// Prints "hex-key murmur3 key_token" for hex keys read one per line from stdin ("-" is the
// empty key): the ringplan side of tests/compat/murmur3_live.py.
#include <ringplan/cassandra.hpp>

#include <iostream>
#include <string>
#include <vector>

int main() {
    std::string line;
    while (std::getline(std::cin, line)) {
        std::vector<unsigned char> bytes;
        if (line != "-") {
            for (std::size_t i = 0; i + 1 < line.size(); i += 2) {
                bytes.push_back(
                    static_cast<unsigned char>(std::stoul(line.substr(i, 2), nullptr, 16)));
            }
        }
        std::cout << line << ' ' << ringplan::cassandra::murmur3(bytes.data(), bytes.size()) << ' '
                  << ringplan::cassandra::key_token(bytes.data(), bytes.size()) << '\n';
    }
    return 0;
}
