#pragma once
// detail::owned_call(): a call of a coroutine function in a frame that owns the callable and the
// arguments. A coroutine lambda's frame refers to its closure, and reference parameters to the
// caller's objects; a call that runs later (scheduled, or eager past its first suspension) must
// not depend on either (tamed, eager_function).

#include <coven/task.hpp>

#include <functional>
#include <type_traits>

namespace coven::detail {

/// The value type of the task that `F` returns for arguments `A...`.
template <class F, class... A>
using owned_call_value_t = typename std::invoke_result_t<F&, A&...>::value_type;

template <class F, class... A>
auto owned_call(F fn, A... args) -> task<owned_call_value_t<F, A...>> {
    co_return co_await std::invoke(fn, args...);
}

} // namespace coven::detail
