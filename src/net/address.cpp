// Addresses: parse and print (include/coven/net/address.hpp).

#include <coven/net/address.hpp>

#include <arpa/inet.h>
#include <charconv>
#include <cstring>
#include <net/if.h>
#include <netinet/in.h>
#include <string>
#include <sys/un.h>

namespace coven::net {
namespace {

[[noreturn]] void bad(std::string_view text, const char* why) {
    throw address_error("coven: '" + std::string(text) + "' is not an address (" + why +
                        "); write 127.0.0.1:6379, [::1]:80, unix:/path or unix:@name");
}

auto parse_port(std::string_view whole, std::string_view digits) -> std::uint16_t {
    unsigned value = 0;
    const auto* end = digits.data() + digits.size();
    auto [p, ec] = std::from_chars(digits.data(), end, value);
    if (digits.empty() || ec != std::errc() || p != end || value > 65535) {
        bad(whole, "the port must be a number from 0 to 65535");
    }
    return static_cast<std::uint16_t>(value);
}

constexpr std::size_t sun_path_size = sizeof(sockaddr_un{}.sun_path);

} // namespace

auto address::ipv4(std::string_view host, std::uint16_t port) -> address {
    address a;
    auto* sin = reinterpret_cast<sockaddr_in*>(&a.m_storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    if (::inet_pton(AF_INET, std::string(host).c_str(), &sin->sin_addr) != 1) {
        bad(host, "not an IPv4 address in dotted form");
    }
    a.m_size = sizeof(sockaddr_in);
    return a;
}

auto address::ipv6(std::string_view host, std::uint16_t port) -> address {
    address a;
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.m_storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::string text(host);
    if (const auto pct = text.find('%'); pct != std::string::npos) { // a zone: fe80::1%eth0
        const std::string zone = text.substr(pct + 1);
        text.resize(pct);
        unsigned index = ::if_nametoindex(zone.c_str());
        if (index == 0) {
            auto [p, ec] = std::from_chars(zone.data(), zone.data() + zone.size(), index);
            if (zone.empty() || ec != std::errc() || p != zone.data() + zone.size()) {
                bad(host, "the zone after % names no interface");
            }
        }
        sin6->sin6_scope_id = index;
    }
    if (::inet_pton(AF_INET6, text.c_str(), &sin6->sin6_addr) != 1) {
        bad(host, "not an IPv6 address");
    }
    a.m_size = sizeof(sockaddr_in6);
    return a;
}

auto address::loopback(std::uint16_t port) noexcept -> address {
    address a;
    auto* sin = reinterpret_cast<sockaddr_in*>(&a.m_storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.m_size = sizeof(sockaddr_in);
    return a;
}

auto address::unix_path(std::string_view path) -> address {
    if (path.empty()) {
        bad("unix:", "a Unix socket path must not be empty");
    }
    if (path.size() >= sun_path_size) {
        bad(path, "a Unix socket path holds at most 107 bytes");
    }
    if (path.find('\0') != std::string_view::npos) {
        bad(path, "a Unix socket path cannot hold a NUL byte");
    }
    address a;
    auto* sun = reinterpret_cast<sockaddr_un*>(&a.m_storage);
    sun->sun_family = AF_UNIX;
    std::memcpy(sun->sun_path, path.data(), path.size());
    a.m_size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return a;
}

auto address::unix_abstract(std::string_view name) -> address {
    if (name.size() + 1 > sun_path_size) {
        bad(name, "an abstract Unix socket name holds at most 106 bytes");
    }
    address a;
    auto* sun = reinterpret_cast<sockaddr_un*>(&a.m_storage);
    sun->sun_family = AF_UNIX;
    sun->sun_path[0] = '\0';
    std::memcpy(sun->sun_path + 1, name.data(), name.size());
    a.m_size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    return a;
}

auto address::parse(std::string_view text) -> address {
    try {
        return parse_unquoted(text);
    } catch (const address_error& e) {
        const std::string what = e.what();
        if (what.find(std::string(text)) != std::string::npos) {
            throw;
        }
        // A part was at fault (the host of host:port): quote the whole text.
        bad(text, what.substr(what.find('(') + 1, what.find(')') - what.find('(') - 1).c_str());
    }
}

auto address::parse_unquoted(std::string_view text) -> address {
    if (text.starts_with("unix:")) {
        const std::string_view rest = text.substr(5);
        if (rest.starts_with('@')) {
            return unix_abstract(rest.substr(1));
        }
        return unix_path(rest);
    }
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            bad(text, "an IPv6 address is written [address]:port");
        }
        const auto port = parse_port(text, text.substr(close + 2));
        return ipv6(text.substr(1, close - 1), port);
    }
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        bad(text, "no port: write host:port");
    }
    if (text.substr(0, colon).find(':') != std::string_view::npos) {
        bad(text, "an IPv6 address needs brackets: [address]:port");
    }
    const auto port = parse_port(text, text.substr(colon + 1));
    return ipv4(text.substr(0, colon), port);
}

auto address::from_sockaddr(const sockaddr* sa, socklen_t len) -> address {
    if (len > sizeof(sockaddr_storage) || len < sizeof(sa_family_t)) {
        throw address_error("coven: a socket address of " + std::to_string(len) +
                            " bytes does not fit a sockaddr_storage");
    }
    const int fam = sa->sa_family;
    if (fam != AF_INET && fam != AF_INET6 && fam != AF_UNIX) {
        throw address_error("coven: socket address family " + std::to_string(fam) +
                            " is not IPv4, IPv6 or Unix");
    }
    address a;
    std::memcpy(&a.m_storage, sa, len);
    a.m_size = len;
    return a;
}

auto address::family() const noexcept -> kind {
    switch (m_storage.ss_family) {
    case AF_INET:
        return kind::ipv4;
    case AF_INET6:
        return kind::ipv6;
    case AF_UNIX: {
        const auto* sun = reinterpret_cast<const sockaddr_un*>(&m_storage);
        const bool abstract = m_size > offsetof(sockaddr_un, sun_path) && sun->sun_path[0] == '\0';
        return abstract ? kind::unix_abstract : kind::unix_path;
    }
    default:
        return kind::none;
    }
}

auto address::port() const noexcept -> std::uint16_t {
    switch (m_storage.ss_family) {
    case AF_INET:
        return ntohs(reinterpret_cast<const sockaddr_in*>(&m_storage)->sin_port);
    case AF_INET6:
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&m_storage)->sin6_port);
    default:
        return 0;
    }
}

auto address::to_string() const -> std::string {
    char buf[INET6_ADDRSTRLEN] = {};
    switch (family()) {
    case kind::ipv4: {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(&m_storage);
        ::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(port());
    }
    case kind::ipv6: {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&m_storage);
        ::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
        std::string host(buf);
        if (sin6->sin6_scope_id != 0) {
            char name[IF_NAMESIZE] = {};
            host += "%";
            host += ::if_indextoname(sin6->sin6_scope_id, name) != nullptr
                        ? std::string(name)
                        : std::to_string(sin6->sin6_scope_id);
        }
        return "[" + host + "]:" + std::to_string(port());
    }
    case kind::unix_path: {
        const auto* sun = reinterpret_cast<const sockaddr_un*>(&m_storage);
        const std::size_t n = m_size - offsetof(sockaddr_un, sun_path);
        return "unix:" + std::string(sun->sun_path, ::strnlen(sun->sun_path, n));
    }
    case kind::unix_abstract: {
        const auto* sun = reinterpret_cast<const sockaddr_un*>(&m_storage);
        const std::size_t n = m_size - offsetof(sockaddr_un, sun_path);
        return "unix:@" + std::string(sun->sun_path + 1, n - 1);
    }
    case kind::none:
        break;
    }
    return "(none)";
}

auto operator==(const address& a, const address& b) noexcept -> bool {
    return a.m_size == b.m_size && std::memcmp(&a.m_storage, &b.m_storage, a.m_size) == 0;
}

} // namespace coven::net
