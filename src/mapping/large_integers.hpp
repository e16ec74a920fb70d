// Restores integers beyond 2^53 that libjq 1.6 turned into doubles.
#pragma once

#include "mapping/jq_runtime.hpp"

#include <boost/json/value.hpp>

#include <vector>

namespace ocean::mapping::detail {

/// Puts back the exact input integers that jq turned into doubles, in numbers and in the decimal
/// text `tostring` makes of them. Returns false when a rounded integer could not be matched to
/// exactly one input integer.
// NOTE: the match is by value, so a computed result that happens to equal the double of an input
// integer (`.id + 1` near 2^63) is taken for a copy of that integer.
bool restore_large_integers(boost::json::value& value, std::vector<large_integer> const& large);

} // namespace ocean::mapping::detail
