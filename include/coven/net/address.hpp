#pragma once
// coven::net::address: an IPv4, IPv6 or Unix (path or abstract) socket address, parsed from and
// printed as text (B4).

#include <coven/error.hpp>

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace coven::net {

/// Text that is not an address (address::parse() and friends). The message quotes the text and
/// says which forms are accepted.
class address_error : public coven::error {
public:
    using coven::error::error;
};

/// A socket address. Copyable, comparable, cheap (a sockaddr_storage and its length).
///
/// Text forms (parse() reads them, to_string() writes them):
///   `127.0.0.1:6379`             IPv4 and port
///   `[::1]:80`                   IPv6 and port (brackets required; a scope as `[fe80::1%eth0]:80`)
///   `unix:/run/app.sock`         a Unix socket at a path
///   `unix:@name`                 a Unix socket in the abstract namespace (Linux)
/// **Thread safety:** a value type.
class address {
public:
    enum class kind : std::uint8_t { none, ipv4, ipv6, unix_path, unix_abstract };

    /// No address (kind::none); what a default-constructed socket reports.
    address() noexcept = default;

    /// **Throws:** address_error for text in none of the forms above, with the text quoted.
    static auto parse(std::string_view text) -> address;
    /// An IPv4 address from dotted text and a port. **Throws:** address_error.
    static auto ipv4(std::string_view host, std::uint16_t port) -> address;
    /// An IPv6 address from its text (no brackets) and a port. **Throws:** address_error.
    static auto ipv6(std::string_view host, std::uint16_t port) -> address;
    /// 127.0.0.1:port (port 0: the system picks one at bind()).
    static auto loopback(std::uint16_t port = 0) noexcept -> address;
    /// A Unix socket at `path`. **Throws:** address_error for an empty path or one longer than
    /// sockaddr_un holds (107 bytes), or one with a NUL byte.
    static auto unix_path(std::string_view path) -> address;
    /// A Unix socket named `name` in Linux's abstract namespace (no file). **Throws:**
    /// address_error for a name longer than 106 bytes.
    static auto unix_abstract(std::string_view name) -> address;
    /// The address the system wrote into `sa` (accept(), getsockname()). **Throws:**
    /// address_error for a family coven does not know, or a length that does not fit.
    static auto from_sockaddr(const sockaddr* sa, socklen_t len) -> address;

    [[nodiscard]] auto family() const noexcept -> kind;
    /// The port of an IP address; 0 for the others.
    [[nodiscard]] auto port() const noexcept -> std::uint16_t;
    /// The text form (see above); "(none)" for kind::none.
    [[nodiscard]] auto to_string() const -> std::string;

    [[nodiscard]] auto data() const noexcept -> const sockaddr* {
        return reinterpret_cast<const sockaddr*>(&m_storage);
    }
    [[nodiscard]] auto size() const noexcept -> socklen_t { return m_size; }
    /// The socket domain to create for it (AF_INET, AF_INET6, AF_UNIX; AF_UNSPEC for none).
    [[nodiscard]] auto domain() const noexcept -> int { return m_storage.ss_family; }

    friend auto operator==(const address& a, const address& b) noexcept -> bool;

private:
    static auto parse_unquoted(std::string_view text) -> address;
    sockaddr_storage m_storage{};
    socklen_t m_size = 0;
};

} // namespace coven::net
