// Serialises a response's status line and header block. The server writes this text and the
// body with one gather write, which costs less than Beast's serializer for a body already in
// memory. It does no I/O, so every path that sends a response follows the rules below.
#pragma once

#include <ocean/http/response.hpp>

#include <string>
#include <string_view>

namespace ocean::http::detail {

/// Replaces `out` with the head of `r` for an HTTP/1.`version % 10` request:
/// - the status line (a status outside 100-999 becomes 500, logged);
/// - the handler's fields, minus those the server owns (Content-Length, Transfer-Encoding,
///   Connection, Date, X-Request-ID). A field whose name is not an HTTP token, or whose value
///   contains CR, LF or NUL, is dropped and logged, so a handler cannot split the response;
/// - Date, X-Request-ID, Content-Length (not for 1xx, 204 and 304, which have no body) and the
///   Connection field that `keep_alive` needs for this version;
/// - the blank line that ends the head.
/// Returns false when the response carries no body on the wire (1xx, 204, 304).
bool format_response_head(std::string& out, response const& r, unsigned version, bool keep_alive,
                          std::string_view request_id);

} // namespace ocean::http::detail
