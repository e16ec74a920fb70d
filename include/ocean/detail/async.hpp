// Glue between token-based initiating functions in public headers and the compiled library.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>

namespace ocean {

/// The completion token that the SDK's operations use when none is given: `co_await op(...)`.
using default_token = boost::asio::use_awaitable_t<>;

namespace detail {

/// Starts `impl(any_completion_handler<Signature>)` for any completion token. The body of `impl`
/// lives in the compiled library, so public headers instantiate only this thin shim.
template <class Signature, class Token, class Impl>
auto initiate(Token&& token, Impl&& impl)
{
    return boost::asio::async_initiate<Token, Signature>(
        [](auto completion, auto body) {
            body(boost::asio::any_completion_handler<Signature>(std::move(completion)));
        },
        token, std::forward<Impl>(impl));
}

} // namespace detail
} // namespace ocean
