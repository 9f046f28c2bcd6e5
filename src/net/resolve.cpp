// resolve(): getaddrinfo on the default thread pool (include/coven/net/resolve.hpp).

#include <coven/executor.hpp>
#include <coven/net/resolve.hpp>

#include <netdb.h>
#include <sys/socket.h>

namespace coven::net {
namespace {

auto lookup(const std::string& host, const std::string& service) -> std::vector<address> {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* list = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
    if (rc != 0) {
        throw resolve_error("coven: resolve " + host + ":" + service + ": " + ::gai_strerror(rc),
                            rc);
    }
    std::vector<address> out;
    try {
        for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
            out.push_back(address::from_sockaddr(ai->ai_addr, ai->ai_addrlen));
        }
    } catch (...) {
        ::freeaddrinfo(list);
        throw;
    }
    ::freeaddrinfo(list);
    return out;
}

} // namespace

auto resolve(std::string host, std::string service) -> task<std::vector<address>> {
    // The job owns copies of both strings: the worker may outlive this task (cancellation).
    co_return co_await run_in_executor(lookup, std::move(host), std::move(service));
}

} // namespace coven::net
