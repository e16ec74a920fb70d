#include <ocean/mapping/parallel_entity_processor.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <exception>
#include <latch>

namespace ocean::mapping {

parallel_entity_processor::parallel_entity_processor(port_app_config const& config, std::size_t concurrency,
                                                     processor_options options)
{
    concurrency = std::max<std::size_t>(concurrency, 1);
    processors_.reserve(concurrency);
    for (std::size_t i = 0; i < concurrency; ++i)
        processors_.emplace_back(config, options);
}

mapping_result parallel_entity_processor::map(boost::asio::thread_pool& pool, std::string_view kind,
                                              std::span<boost::json::value const> items) const
{
    // Resource by resource, as entity_processor::map orders its output.
    mapping_result merged;
    auto const& resources = processors_.front().config().resources;
    for (std::size_t r = 0; r < resources.size(); ++r) {
        if (resources[r].kind == kind)
            merged.append(map_resource(pool, r, items));
    }
    return merged;
}

mapping_result parallel_entity_processor::map_resource(boost::asio::thread_pool& pool, std::size_t resource_index,
                                                       std::span<boost::json::value const> items) const
{
    auto const chunks = std::min(processors_.size(), items.size());
    if (chunks <= 1)
        return processors_.front().map_resource(resource_index, items);

    std::vector<mapping_result> results(chunks);
    std::vector<std::exception_ptr> failures(chunks);
    std::latch done(static_cast<std::ptrdiff_t>(chunks));

    // Contiguous chunks of nearly equal size; chunk i always uses processor i, so no jq state is
    // shared between threads.
    auto const base = items.size() / chunks;
    auto const extra = items.size() % chunks;
    std::size_t first = 0;
    for (std::size_t i = 0; i < chunks; ++i) {
        auto const size = base + (i < extra ? 1 : 0);
        auto const chunk = items.subspan(first, size);
        boost::asio::post(pool, [&, i, chunk, first] {
            try {
                results[i] = processors_[i].map_resource(resource_index, chunk, first);
            } catch (...) {
                failures[i] = std::current_exception();
            }
            done.count_down();
        });
        first += size;
    }
    done.wait();

    for (auto const& failure : failures) {
        if (failure)
            std::rethrow_exception(failure);
    }
    mapping_result merged = std::move(results.front());
    for (std::size_t i = 1; i < chunks; ++i)
        merged.append(std::move(results[i]));
    return merged;
}

} // namespace ocean::mapping
