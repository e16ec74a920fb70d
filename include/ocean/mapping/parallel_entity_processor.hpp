// Maps large batches on a caller-provided thread pool.
#pragma once

#include <ocean/mapping/entity_processor.hpp>

#include <boost/asio/thread_pool.hpp>

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace ocean::mapping {

/// Holds one entity_processor (so one set of jq states) per concurrent task, and splits each batch
/// into that many contiguous chunks mapped on a caller-provided thread pool.
class parallel_entity_processor {
public:
    /// Compiles the configuration `concurrency` times (at least once). Throws ocean::config_error
    /// like entity_processor.
    parallel_entity_processor(port_app_config const& config, std::size_t concurrency,
                              processor_options options = {});

    /// Returns the number of chunks a batch is split into.
    std::size_t concurrency() const noexcept { return processors_.size(); }

    /// Maps `items` on `pool` and blocks until every chunk is done. The result is the one map()
    /// on a single processor would give, in the same order. Must not be called from a thread of
    /// `pool`, which could then wait for itself, nor from two threads at once.
    mapping_result map(boost::asio::thread_pool& pool, std::string_view kind,
                       std::span<boost::json::value const> items) const;

private:
    mapping_result map_resource(boost::asio::thread_pool& pool, std::size_t resource_index,
                                std::span<boost::json::value const> items) const;

    std::vector<entity_processor> processors_;
};

} // namespace ocean::mapping
