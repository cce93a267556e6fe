// ringplan: consistent hashing with departure planning.
// SPDX-License-Identifier: MIT
#ifndef RINGPLAN_BYTES_HPP
#define RINGPLAN_BYTES_HPP

#include <ringplan/version.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

RINGPLAN_NAMESPACE_BEGIN

/// The byte representation ringplan hashes for a key or a node id. Placement depends on these
/// bytes only, so it must be the same on every platform:
///  - anything convertible to std::string_view (std::string, const char*, string literals):
///    its characters, without a terminating NUL;
///  - integers (not bool): sizeof(T) bytes, little-endian, whatever the host's endianness;
///  - anything else: specialize ByteRepr<T> with a static `bytes(const T&)` that returns an
///    object with `data()` (pointer to char, unsigned char or std::byte) and `size()`, which
///    owns its bytes or views bytes that live as long as the argument. For example:
///
///        template <> struct ringplan::ByteRepr<Endpoint> {
///            static std::string bytes(const Endpoint& e) { return e.host + ':' + e.port; }
///        };
template <class T, class Enable = void>
struct ByteRepr;

template <class T>
struct ByteRepr<T, std::enable_if_t<std::is_convertible<const T&, std::string_view>::value>> {
    static std::string_view bytes(const T& value) noexcept { return std::string_view(value); }
};

template <class T>
struct ByteRepr<T, std::enable_if_t<std::is_integral<T>::value && !std::is_same<T, bool>::value>> {
    static std::array<unsigned char, sizeof(T)> bytes(T value) noexcept {
        using U = std::make_unsigned_t<T>;
        auto bits = static_cast<U>(value);
        std::array<unsigned char, sizeof(T)> out{};
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            out[i] = static_cast<unsigned char>(bits & 0xFFu);
            // Two steps keep the shift legal for 8-bit types.
            bits = static_cast<U>((bits >> 4) >> 4);
        }
        return out;
    }
};

namespace detail {

template <class T, class = void>
struct HasByteRepr : std::false_type {};
template <class T>
struct HasByteRepr<T, std::void_t<decltype(ByteRepr<T>::bytes(std::declval<const T&>()))>>
    : std::true_type {};

/// A view of a value's bytes, valid while `holder` lives.
template <class T>
struct Bytes {
    using Holder = decltype(ByteRepr<T>::bytes(std::declval<const T&>()));
    Holder holder;
    const void* data() const noexcept { return static_cast<const void*>(holder.data()); }
    std::size_t size() const noexcept { return static_cast<std::size_t>(holder.size()); }
};

template <class T>
Bytes<std::remove_cv_t<std::remove_reference_t<T>>> bytes_of(const T& value) {
    using U = std::remove_cv_t<std::remove_reference_t<T>>;
    static_assert(HasByteRepr<U>::value,
                  "ringplan: no byte representation for this type; specialize ringplan::ByteRepr "
                  "(see ringplan/bytes.hpp)");
    return Bytes<U>{ByteRepr<U>::bytes(value)};
}

inline void store_le32(unsigned char* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<unsigned char>(v >> (8 * i));
    }
}

}  // namespace detail

RINGPLAN_NAMESPACE_END

#endif  // RINGPLAN_BYTES_HPP
