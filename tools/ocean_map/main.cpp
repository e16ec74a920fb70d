// ocean-map: maps raw third-party JSON items to Port entities with a port-app-config, offline.
#include <ocean/error.hpp>
#include <ocean/mapping/entity_processor.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace json = boost::json;

namespace {

constexpr char const* usage = R"(Usage: ocean-map --config PORT_APP_CONFIG [--kind KIND] [INPUT]

Maps raw items to Port entities with the jq mappings of a port-app-config, as an Ocean
integration would, and writes one entity per line as JSON to stdout.

  --config PATH   port-app-config file (.yml, .yaml or .json); required
  --kind KIND     apply only the resources of KIND (default: every kind in the config)
  INPUT           JSON items: a JSON array, or one JSON value per line; '-' or no INPUT
                  reads stdin. Every top-level array is read as a list of items.
  -h, --help      print this help

Entities whose items fail the selector are not written. Misconfigured fields (a jq error,
null or no output) are reported on stderr by dotted path, e.g. properties.url.

Exit status: 0 when every item mapped cleanly, 1 when any mapping failed (misconfigured
field, selector error, skipped entity, itemsToParse not an array), 2 on invalid arguments,
configuration or input.
)";

/// Items are mapped in batches of this many, so a large input is never held whole.
constexpr std::size_t batch_size = 1000;

struct arguments {
    std::string config_path;
    std::optional<std::string> kind;
    std::string input = "-";
};

/// Thrown for exit status 2: invalid arguments, configuration or input.
struct usage_error {
    std::string message;
    /// False for problems in a file, where the usage text does not help.
    bool suggest_help = true;
};

arguments parse_arguments(int argc, char** argv)
{
    arguments out;
    bool have_input = false;
    for (int i = 1; i < argc; ++i) {
        std::string const argument = argv[i];
        auto take_value = [&](std::string const& option) -> std::string {
            if (auto const equals = argument.find('='); equals != std::string::npos)
                return argument.substr(equals + 1);
            if (i + 1 >= argc)
                throw usage_error{option + " requires a value"};
            return argv[++i];
        };

        if (argument == "-h" || argument == "--help") {
            std::fputs(usage, stdout);
            std::exit(0);
        } else if (argument == "--config" || argument.starts_with("--config=")) {
            out.config_path = take_value("--config");
        } else if (argument == "--kind" || argument.starts_with("--kind=")) {
            out.kind = take_value("--kind");
        } else if (argument.size() > 1 && argument[0] == '-') {
            throw usage_error{"unknown option '" + argument + "'"};
        } else if (have_input) {
            throw usage_error{"more than one INPUT given ('" + out.input + "' and '" + argument + "')"};
        } else {
            out.input = argument;
            have_input = true;
        }
    }
    if (out.config_path.empty())
        throw usage_error{"missing --config PORT_APP_CONFIG"};
    return out;
}

/// Maps batches of items, writes the entities and reports problems. Records whether any item failed.
class batch_writer {
public:
    batch_writer(ocean::mapping::entity_processor const& processor, std::vector<std::string> kinds)
        : processor_(processor), kinds_(std::move(kinds))
    {
    }

    void add(json::value item)
    {
        if (auto* array = item.if_array()) {
            for (auto& element : *array)
                push(std::move(element));
        } else {
            push(std::move(item));
        }
    }

    void flush()
    {
        if (pending_.empty())
            return;
        for (auto const& kind : kinds_) {
            auto const result = processor_.map(kind, pending_, first_index_);
            report(result);
        }
        first_index_ += pending_.size();
        pending_.clear();
    }

    bool failed() const noexcept { return failed_; }

private:
    void push(json::value item)
    {
        pending_.push_back(std::move(item));
        if (pending_.size() >= batch_size)
            flush();
    }

    void report(ocean::mapping::mapping_result const& result)
    {
        for (auto const& entity : result.passed) {
            auto line = json::serialize(entity.to_json());
            line += '\n';
            std::fwrite(line.data(), 1, line.size(), stdout);
        }
        for (auto const& entry : result.misconfigured) {
            std::fprintf(stderr, "ocean-map: kind \"%s\", item %zu: %s: %s\n", entry.kind.c_str(), entry.item,
                         entry.path.c_str(), entry.message.c_str());
        }
        for (auto const& error : result.errors)
            std::fprintf(stderr, "ocean-map: error: %s\n", error.c_str());
        for (auto const& warning : result.warnings)
            std::fprintf(stderr, "ocean-map: warning: %s\n", warning.c_str());
        if (!result.clean())
            failed_ = true;
    }

    ocean::mapping::entity_processor const& processor_;
    std::vector<std::string> kinds_;
    std::vector<json::value> pending_;
    std::size_t first_index_ = 0;
    bool failed_ = false;
};

/// Parses consecutive JSON values from `in` and hands each to `writer`.
void read_items(std::istream& in, std::string const& name, batch_writer& writer)
{
    json::stream_parser parser;
    std::vector<char> buffer(std::size_t{1} << 16);
    std::size_t offset = 0; // bytes read before the current buffer, for error positions
    bool partial = false;   // some of the current value was written to the parser
    boost::system::error_code ec;

    auto fail = [&](std::size_t position) {
        throw usage_error{name + ": invalid JSON at byte " + std::to_string(position) + ": " + ec.message(), false};
    };

    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        auto const size = static_cast<std::size_t>(in.gcount());
        std::size_t used = 0;
        while (used < size) {
            auto const consumed = parser.write_some(buffer.data() + used, size - used, ec);
            if (ec)
                fail(offset + used + consumed);
            for (std::size_t i = used; i < used + consumed && !partial; ++i)
                partial = std::strchr(" \t\r\n", buffer[i]) == nullptr;
            used += consumed;
            if (parser.done()) {
                writer.add(parser.release());
                parser.reset();
                partial = false;
            }
        }
        offset += size;
    }

    if (!partial)
        return;
    // A number at the very end is complete only when the parser is told that no digit follows.
    parser.finish(ec);
    if (ec)
        fail(offset);
    writer.add(parser.release());
}

} // namespace

int main(int argc, char** argv)
{
    try {
        auto const args = parse_arguments(argc, argv);
        auto config = ocean::mapping::port_app_config::load_file(args.config_path);

        std::vector<std::string> kinds;
        if (args.kind) {
            if (config.resources_of(*args.kind).empty())
                throw usage_error{"--kind " + *args.kind + ": no resource of this kind in " + args.config_path};
            kinds.push_back(*args.kind);
        } else {
            for (auto const& resource : config.resources) {
                if (std::find(kinds.begin(), kinds.end(), resource.kind) == kinds.end())
                    kinds.push_back(resource.kind);
            }
        }

        ocean::mapping::entity_processor const processor(std::move(config));
        batch_writer writer(processor, std::move(kinds));

        if (args.input == "-") {
            read_items(std::cin, "stdin", writer);
        } else {
            std::ifstream file(args.input, std::ios::binary);
            if (!file)
                throw usage_error{args.input + ": cannot open the file for reading", false};
            read_items(file, args.input, writer);
        }
        writer.flush();
        std::fflush(stdout);
        return writer.failed() ? 1 : 0;
    } catch (usage_error const& e) {
        std::fprintf(stderr, "ocean-map: %s\n", e.message.c_str());
        if (e.suggest_help)
            std::fputs("Try 'ocean-map --help' for usage.\n", stderr);
    } catch (ocean::config_error const& e) {
        std::fprintf(stderr, "ocean-map: invalid configuration: %s\n", e.what());
    }
    return 2;
}
