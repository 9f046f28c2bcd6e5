#include <coven/error.hpp>

namespace coven {

namespace {
auto describe_all(const std::vector<std::exception_ptr>& errors) -> std::string {
    std::string what = "coven: " + std::to_string(errors.size()) + " errors";
    if (!errors.empty()) {
        what += "; the first: ";
        what += detail::describe_exception(errors.front());
    }
    return what;
}
} // namespace

aggregate_error::aggregate_error(std::vector<std::exception_ptr> errors)
    : error(describe_all(errors)), m_errors(std::move(errors)) {}

} // namespace coven

namespace coven::detail {

auto describe_exception(const std::exception_ptr& e) -> std::string {
    if (!e) {
        return "no exception";
    }
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "an exception that is not a std::exception";
    }
}

void throw_usage(const char* what) {
    throw usage_error(std::string("coven: ") + what);
}

} // namespace coven::detail

namespace coven::detail {

void throw_nan_duration(const char* what) {
    throw usage_error(std::string("coven: ") + what +
                      " was given a duration that is NaN; pass a number (a negative one means "
                      "now, an infinite one means never)");
}

} // namespace coven::detail
