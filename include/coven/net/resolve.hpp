#pragma once
// coven::net::resolve(): host names to addresses through getaddrinfo(3), on a thread pool (B4).

#include <coven/net/address.hpp>
#include <coven/task.hpp>

#include <string>
#include <vector>

namespace coven::net {

/// getaddrinfo() failed: the message names the host, the service and the reason
/// ("resolve nosuch.example:80: Name or service not known").
class resolve_error : public coven::error {
public:
    resolve_error(const std::string& what, int code) : coven::error(what), m_code(code) {}
    /// getaddrinfo's error code (EAI_NONAME, EAI_SERVICE, ...).
    [[nodiscard]] auto code() const noexcept -> int { return m_code; }

private:
    int m_code;
};

/// Resolves `host` and `service` (a port number or a name in /etc/services) to the stream
/// addresses getaddrinfo() gives, in its order (IPv6 and IPv4). A numeric host resolves without
/// a lookup.
/// **Cancellation:** leaves at once. getaddrinfo() cannot be stopped: it goes on on its worker
/// thread, and its late answer is freed there, never delivered.
/// **Throws:** resolve_error; usage_error outside a coven task or when the default thread pool
/// is shut down; cancelled_error.
/// **Thread safety:** awaited from a coven task; runs on coven::default_thread_pool().
auto resolve(std::string host, std::string service) -> task<std::vector<address>>;

} // namespace coven::net
