// A Beast parser that reads a request straight into ocean's own types: header fields into
// http::fields and the body into a std::string. Beast's request_parser would first build a
// basic_fields with one allocation per field, which the server would then copy.
#pragma once

#include <ocean/http/fields.hpp>

#include <boost/beast/http/basic_parser.hpp>

#include <string>

namespace ocean::http::detail {

class request_parser : public boost::beast::http::basic_parser<true> {
public:
    using string_view = boost::beast::string_view;

    boost::beast::http::verb verb = boost::beast::http::verb::unknown;
    std::string method;
    std::string target;
    unsigned version = 11;
    fields headers;
    std::string body;

private:
    bool header_complete_ = false;

    void on_request_impl(boost::beast::http::verb v, string_view method_string, string_view request_target,
                         int http_version, boost::beast::error_code&) override
    {
        verb = v;
        method.assign(method_string.data(), method_string.size());
        target.assign(request_target.data(), request_target.size());
        version = static_cast<unsigned>(http_version);
        // A typical webhook carries about a dozen fields of a few hundred bytes in all.
        headers.reserve(16, 512);
    }

    void on_response_impl(int, string_view, int, boost::beast::error_code& ec) override
    {
        // Beast calls this for responses only, never for a request parser.
        ec = boost::beast::http::error::bad_version;
    }

    void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                       boost::beast::error_code&) override
    {
        // Beast reports the trailer of a chunked body here too. Trailer fields are dropped: a
        // sender could otherwise add a signature or a delivery id after the body.
        if (!header_complete_)
            headers.add({name.data(), name.size()}, {value.data(), value.size()});
    }

    void on_header_impl(boost::beast::error_code&) override { header_complete_ = true; }

    void on_body_init_impl(boost::optional<std::uint64_t> const& content_length, boost::beast::error_code&) override
    {
        // The body limit was checked against Content-Length before this call.
        if (content_length)
            body.reserve(static_cast<std::size_t>(*content_length));
    }

    std::size_t on_body_impl(string_view data, boost::beast::error_code&) override
    {
        body.append(data.data(), data.size());
        return data.size();
    }

    void on_chunk_header_impl(std::uint64_t, string_view, boost::beast::error_code&) override {}

    std::size_t on_chunk_body_impl(std::uint64_t, string_view data, boost::beast::error_code&) override
    {
        body.append(data.data(), data.size());
        return data.size();
    }

    void on_finish_impl(boost::beast::error_code&) override {}
};

} // namespace ocean::http::detail
