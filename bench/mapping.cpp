// bench_mapping: times the SDK mapping a JSON-lines file of raw items, end to end (read, parse,
// map, serialise the entities), on one thread or on a thread pool.
#include <ocean/error.hpp>
#include <ocean/mapping/entity_processor.hpp>
#include <ocean/mapping/parallel_entity_processor.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace json = boost::json;

namespace {

constexpr char const* usage =
    "Usage: bench_mapping CONFIG KIND ITEMS.jsonl [--threads N] [--output FILE]\n"
    "Maps every line of ITEMS.jsonl with the resources of KIND and prints one summary line:\n"
    "items, entities, seconds and items per second. --output writes the entities as JSON lines.\n";

/// Lines read, parsed and mapped together; large enough to amortise the pool hand-offs.
constexpr std::size_t batch_lines = 8192;

/// Runs `work(part, first, last)` for `parts` contiguous slices of [0, size) on `pool` and waits.
void run_parts(boost::asio::thread_pool& pool, std::size_t parts, std::size_t size,
               std::function<void(std::size_t, std::size_t, std::size_t)> const& work)
{
    std::latch done(static_cast<std::ptrdiff_t>(parts));
    for (std::size_t part = 0; part < parts; ++part) {
        auto const first = size * part / parts;
        auto const last = size * (part + 1) / parts;
        boost::asio::post(pool, [&, part, first, last] {
            work(part, first, last);
            done.count_down();
        });
    }
    done.wait();
}

struct summary {
    std::size_t items = 0;
    std::size_t entities = 0;
    std::size_t problems = 0;
    /// Wall time of each phase, in seconds: reading lines, parsing, mapping, serialising.
    double read = 0;
    double parse = 0;
    double map = 0;
    double serialise = 0;
};

double seconds_since(std::chrono::steady_clock::time_point& mark)
{
    auto const now = std::chrono::steady_clock::now();
    std::chrono::duration<double> const elapsed = now - mark;
    mark = now;
    return elapsed.count();
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 4) {
        std::fputs(usage, stderr);
        return 2;
    }
    std::string const config_path = argv[1];
    std::string const kind = argv[2];
    std::string const items_path = argv[3];
    std::size_t threads = 1;
    std::optional<std::string> output_path;
    for (int i = 4; i + 1 < argc; i += 2) {
        std::string const option = argv[i];
        if (option == "--threads") {
            threads = std::stoul(argv[i + 1]);
        } else if (option == "--output") {
            output_path = argv[i + 1];
        } else {
            std::fputs(usage, stderr);
            return 2;
        }
    }

    try {
        auto const setup_start = std::chrono::steady_clock::now();
        auto const config = ocean::mapping::port_app_config::load_file(config_path);
        std::chrono::duration<double, std::milli> const load_time = std::chrono::steady_clock::now() - setup_start;
        std::ifstream input(items_path, std::ios::binary);
        if (!input) {
            std::fprintf(stderr, "bench_mapping: %s: cannot open the file for reading\n", items_path.c_str());
            return 2;
        }
        std::optional<std::ofstream> output;
        if (output_path)
            output.emplace(*output_path, std::ios::binary);

        // Compiling the configuration is set-up, not mapping, so it is left out of the timing.
        auto const compile_start = std::chrono::steady_clock::now();
        ocean::mapping::parallel_entity_processor const processor(config, threads);
        std::chrono::duration<double, std::milli> const compile_time =
            std::chrono::steady_clock::now() - compile_start;
        boost::asio::thread_pool pool(threads);

        summary total;
        std::vector<std::string> lines(batch_lines);
        std::vector<json::value> items;
        std::vector<std::string> serialised(threads);
        // One arena per parsing thread, emptied after each batch: an integration that parses a
        // page of API results would do the same, and it spares malloc a free per JSON node.
        std::vector<std::unique_ptr<json::monotonic_resource>> arenas(threads);
        std::vector<std::vector<json::value>> parsed_parts(threads);
        auto const start = std::chrono::steady_clock::now();
        // Process CPU time over wall time shows how many cores the run actually got.
        std::clock_t const cpu_start = std::clock();

        auto mark = start;
        while (true) {
            std::size_t count = 0;
            while (count < batch_lines && std::getline(input, lines[count])) {
                if (!lines[count].empty())
                    ++count;
            }
            total.read += seconds_since(mark);
            if (count == 0)
                break;

            items.clear();
            // New arenas rather than release(): in Boost 1.81 release() keeps the grown block
            // size, so the blocks kept doubling batch after batch until allocation failed.
            for (auto& arena : arenas)
                arena = std::make_unique<json::monotonic_resource>();
            // Move construction keeps a value's arena, while assignment would copy it into the
            // target's, so each thread fills its own vector and the vectors are then moved.
            run_parts(pool, threads, count, [&](std::size_t part, std::size_t first, std::size_t last) {
                json::storage_ptr const storage(arenas[part].get());
                auto& parsed = parsed_parts[part];
                parsed.clear();
                for (std::size_t i = first; i < last; ++i)
                    parsed.push_back(json::parse(lines[i], storage));
            });
            for (auto& parsed : parsed_parts) {
                for (auto& item : parsed)
                    items.push_back(std::move(item));
                parsed.clear();
            }

            total.parse += seconds_since(mark);
            auto const result = processor.map(pool, kind, items);
            total.map += seconds_since(mark);

            run_parts(pool, threads, result.passed.size(), [&](std::size_t part, std::size_t first, std::size_t last) {
                auto& text = serialised[part];
                text.clear();
                for (std::size_t i = first; i < last; ++i) {
                    text += json::serialize(result.passed[i].to_json());
                    text += '\n';
                }
            });
            if (output) {
                for (auto const& text : serialised)
                    output->write(text.data(), static_cast<std::streamsize>(text.size()));
            }
            total.serialise += seconds_since(mark);

            total.items += count;
            total.entities += result.passed.size();
            total.problems += result.misconfigured.size() + result.errors.size() + result.warnings.size();
        }

        std::chrono::duration<double> const elapsed = std::chrono::steady_clock::now() - start;
        double const cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
        pool.join();
        std::printf("threads %zu items %zu entities %zu problems %zu seconds %.3f items/s %.0f cores used %.2f "
                    "(read %.3f s, parse %.3f s, map %.3f s, serialise %.3f s; "
                    "untimed set-up: config load %.1f ms, processors %.1f ms)\n",
                    threads, total.items, total.entities, total.problems, elapsed.count(),
                    static_cast<double>(total.items) / elapsed.count(), cpu_seconds / elapsed.count(), total.read,
                    total.parse, total.map,
                    total.serialise, load_time.count(), compile_time.count());
        return 0;
    } catch (ocean::config_error const& e) {
        std::fprintf(stderr, "bench_mapping: invalid configuration: %s\n", e.what());
    } catch (std::exception const& e) {
        std::fprintf(stderr, "bench_mapping: %s\n", e.what());
    }
    return 2;
}
