#include <coven/error.hpp>

namespace coven::detail {

void throw_usage(const char* what) {
    throw usage_error(std::string("coven: ") + what);
}

} // namespace coven::detail
