#include <ocean/error.hpp>
#include <ocean/mapping/entity_processor.hpp>

#include "mapping/item_view.hpp"
#include "mapping/jq_runtime.hpp"
#include "mapping/large_integers.hpp"
#include "mapping/native_expression.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <optional>
#include <utility>

namespace ocean::mapping {

namespace json = boost::json;
using detail::expansion;
using detail::item_view;
using detail::jq_outcome;
using detail::jq_program;
using detail::jq_type_name;
using detail::jv_ref;
using detail::raw_item;
using detail::restore_large_integers;

namespace {

/// Prefix that shadows jq's `env` and `$ENV` with empty objects, as Port Ocean does when
/// environment access is switched off.
constexpr std::string_view no_environment_prefix = "def env: {}; {} as $ENV | ";

/// Maximum length of a value quoted in a message, so a huge item does not flood logs.
constexpr std::size_t max_quoted_value = 80;

std::string quote_value(json::value const& value)
{
    auto text = json::serialize(value);
    if (text.size() > max_quoted_value) {
        text.resize(max_quoted_value);
        text += "...";
    }
    return std::string(jq_type_name(value)) + " " + text;
}

// ---- programs -----------------------------------------------------------------------------------

/// The output of one program for one input.
struct field_value {
    enum class status { value, empty, error };
    status state = status::empty;
    json::value value;
    std::string error;
    /// True when the value went through jq while the input had integers beyond 2^53 that could
    /// not all be restored.
    bool maybe_rounded = false;
};

/// One mapping program. Constants (`"service"`), plain paths (`.owner.login`) and simple
/// expressions (`.a // "x"`, `.a == 1 and .b != null`) are evaluated on the JSON tree, which is
/// faster and keeps large integers exact. Other programs run in jq, compiled once here.
class field_program {
public:
    field_program(std::string path, std::string const& display_path, std::string const& source,
                  processor_options const& options)
        : path_(std::move(path))
    {
        auto const program = detail::rewrite_single_quotes(source);
        jq_source_ = options.allow_environment_access ? program : std::string(no_environment_prefix) + program;
        jq_display_path_ = display_path;
        if (options.native_evaluation) {
            if (parse_constant(program))
                return;
            if (detail::parse_plain_path(program, keys_))
                form_ = form::path;
            else if ((native_ = detail::native_expression::parse(program)))
                form_ = form::native;
        }
        // A native program is valid jq, so its compilation waits until an input that only jq can
        // compose needs it (jq 1.6 takes tens of milliseconds per compilation). Any other program
        // is compiled now, which also reports its syntax errors.
        if (form_ == form::jq)
            compiled_jq();
    }

    std::string const& path() const noexcept { return path_; }
    bool is_plain_path() const noexcept { return form_ == form::path; }
    std::vector<std::string> const& keys() const noexcept { return keys_; }

    field_value evaluate(item_view& item) const
    {
        field_value out;
        if (form_ == form::constant) {
            out.state = field_value::status::value;
            out.value = constant_;
            return out;
        }
        if (form_ == form::native) {
            auto result = native_->evaluate(item);
            switch (result.state) {
            case item_view::status::value:
                out.state = field_value::status::value;
                out.value = std::move(result.value);
                return out;
            case item_view::status::error:
                out.state = field_value::status::error;
                out.error = std::move(result.error);
                return out;
            case item_view::status::needs_jq:
                break;
            }
        }
        if (form_ == form::path) {
            json::value const* found = nullptr;
            switch (item.resolve(keys_, found, out.error)) {
            case item_view::status::value:
                out.state = field_value::status::value;
                if (found != nullptr)
                    out.value = *found;
                return out;
            case item_view::status::error:
                out.state = field_value::status::error;
                return out;
            case item_view::status::needs_jq:
                break;
            }
        }
        return run_jq(item);
    }

    /// True when evaluate() always runs jq on an item without itemsToParse.
    bool runs_in_jq() const noexcept { return form_ == form::jq; }

    /// Runs the program in jq and returns its raw first output, whatever its form.
    jq_outcome run(item_view& item) const { return compiled_jq().first(item.input()); }

private:
    enum class form { constant, path, native, jq };

    /// Recognises JSON literals without interpolation: a string, true, false, null or a short
    /// integer, which yield themselves in jq.
    bool parse_constant(std::string const& program)
    {
        auto const first = program.find_first_not_of(" \t\r\n");
        if (first == std::string::npos)
            return false;
        auto const last = program.find_last_not_of(" \t\r\n");
        auto const text = std::string_view(program).substr(first, last - first + 1);

        bool const is_string = text.size() >= 2 && text.front() == '"' && text.back() == '"' &&
                               text.find("\\(") == std::string_view::npos;
        bool const is_keyword = text == "true" || text == "false" || text == "null";
        bool const is_integer = !text.empty() && text.size() <= 15 &&
                                text.find_first_not_of("0123456789") == std::string_view::npos;
        if (!is_string && !is_keyword && !is_integer)
            return false;

        boost::system::error_code ec;
        auto parsed = json::parse(text, ec);
        if (ec)
            return false;
        constant_ = std::move(parsed);
        form_ = form::constant;
        return true;
    }

    jq_program const& compiled_jq() const
    {
        if (!jq_)
            jq_.emplace(jq_display_path_, jq_source_);
        return *jq_;
    }

    field_value run_jq(item_view& item) const
    {
        field_value out;
        auto outcome = compiled_jq().first(item.input());
        switch (outcome.state) {
        case jq_outcome::status::value:
            out.state = field_value::status::value;
            out.value = detail::to_json(outcome.value.get());
            if (!item.raw().large.empty())
                out.maybe_rounded = !restore_large_integers(out.value, item.raw().large);
            break;
        case jq_outcome::status::empty:
            out.state = field_value::status::empty;
            break;
        case jq_outcome::status::error:
            out.state = field_value::status::error;
            out.error = std::move(outcome.error);
            break;
        }
        return out;
    }

    std::string path_;
    form form_ = form::jq;
    json::value constant_;
    std::vector<std::string> keys_;
    std::optional<detail::native_expression> native_;
    std::string jq_source_;
    std::string jq_display_path_;
    /// Compiled on first use; an instance is used by one thread at a time, so no lock is needed.
    mutable std::optional<jq_program> jq_;
};

struct named_node;

/// A mapping value: one program, or a search query whose leaves are programs.
struct mapping_node {
    std::unique_ptr<field_program> program;
    // Not std::pair<std::string, mapping_node>: std::pair needs a complete type here (clang with
    // libstdc++ rejects it), while std::vector accepts an element type completed later.
    std::vector<named_node> members;
    std::vector<mapping_node> elements;
    bool is_array = false;
};

/// A member of a search-query object: its key and its compiled value.
struct named_node {
    std::string key;
    mapping_node value;
};

mapping_node compile_node(json::value const& spec, std::string const& path, std::string const& prefix,
                          processor_options const& options)
{
    mapping_node node;
    if (auto const* object = spec.if_object()) {
        for (auto const& member : *object) {
            node.members.push_back(named_node{
                std::string(member.key()),
                compile_node(member.value(), path + "." + std::string(member.key()), prefix, options)});
        }
    } else if (auto const* array = spec.if_array()) {
        node.is_array = true;
        std::size_t index = 0;
        for (auto const& element : *array) {
            node.elements.push_back(compile_node(element, path + "[" + std::to_string(index) + "]", prefix, options));
            ++index;
        }
    } else {
        auto const source = spec.is_string() ? std::string(spec.get_string()) : json::serialize(spec);
        node.program = std::make_unique<field_program>(path, prefix + path, source, options);
    }
    return node;
}

/// Problems met while mapping one entity. They are reported only if the item passed the selector,
/// because items that fail it are mapped for deletion only.
struct entity_report {
    std::vector<std::pair<std::string, std::string>> misconfigured;
    std::vector<std::string> rounded_paths;
};

json::value evaluate_node(mapping_node const& node, item_view& item, entity_report& report)
{
    if (node.program) {
        auto result = node.program->evaluate(item);
        auto const& path = node.program->path();
        switch (result.state) {
        case field_value::status::error:
            report.misconfigured.emplace_back(path, "jq error: " + result.error);
            return nullptr;
        case field_value::status::empty:
            report.misconfigured.emplace_back(path, "yielded no output");
            return nullptr;
        case field_value::status::value:
            break;
        }
        if (result.value.is_null())
            report.misconfigured.emplace_back(path, "mapped to null");
        if (result.maybe_rounded)
            report.rounded_paths.push_back(path);
        return std::move(result.value);
    }
    if (node.is_array) {
        json::array out;
        for (auto const& element : node.elements)
            out.push_back(evaluate_node(element, item, report));
        return out;
    }
    json::object out;
    for (auto const& [key, member] : node.members)
        out[key] = evaluate_node(member, item, report);
    return out;
}

/// Every program of one resource, compiled.
struct compiled_resource {
    resource_config const* config = nullptr;
    /// `resources[i]`, used in messages.
    std::string name;
    std::unique_ptr<field_program> selector;
    std::unique_ptr<field_program> items_to_parse;
    std::optional<std::vector<std::string>> deleted_path;
    mapping_node identifier;
    mapping_node blueprint;
    std::optional<mapping_node> title;
    std::optional<mapping_node> icon;
    std::optional<mapping_node> team;
    std::vector<std::pair<std::string, mapping_node>> properties;
    std::vector<std::pair<std::string, mapping_node>> relations;
};

compiled_resource compile_resource(resource_config const& config, std::size_t index, processor_options const& options)
{
    compiled_resource out;
    out.config = &config;
    out.name = "resources[" + std::to_string(index) + "]";
    out.selector = std::make_unique<field_program>("selector.query", out.name + ".selector.query",
                                                   config.selector_query, options);

    if (config.items_to_parse) {
        out.items_to_parse = std::make_unique<field_program>("port.itemsToParse", out.name + ".port.itemsToParse",
                                                             *config.items_to_parse, options);
        // The path deleted from the parent is the expression's leading object path (`.labels` in
        // `.labels | map(.x)`). NOTE: Port Ocean derives it with its own heuristic, which may pick
        // another path for unusual expressions; nothing is deleted when none leads the expression.
        std::vector<std::string> keys;
        if (config.items_to_parse_top_level_transform &&
            detail::parse_leading_path(detail::rewrite_single_quotes(*config.items_to_parse), keys))
            out.deleted_path = std::move(keys);
    }

    auto const prefix = out.name + ".port.entity.mappings.";
    auto const& mappings = config.mappings;
    auto compile_member = [&](std::string_view key) -> std::optional<mapping_node> {
        auto const* spec = mappings.if_contains(key);
        if (spec == nullptr || spec->is_null())
            return std::nullopt;
        return compile_node(*spec, std::string(key), prefix, options);
    };

    auto identifier = compile_member("identifier");
    if (!identifier)
        throw config_error(prefix + "identifier: missing (every entity needs an identifier)");
    out.identifier = std::move(*identifier);
    auto blueprint = compile_member("blueprint");
    if (!blueprint)
        throw config_error(prefix + "blueprint: missing (every entity needs a blueprint)");
    out.blueprint = std::move(*blueprint);
    out.title = compile_member("title");
    out.icon = compile_member("icon");
    out.team = compile_member("team");

    for (auto [group, target] : {std::pair{"properties", &out.properties}, std::pair{"relations", &out.relations}}) {
        auto const* members = mappings.if_contains(group);
        if (members == nullptr || members->is_null())
            continue;
        if (!members->is_object())
            throw config_error(prefix + group + ": expected an object");
        for (auto const& member : members->get_object()) {
            auto const path = std::string(group) + "." + std::string(member.key());
            target->emplace_back(std::string(member.key()), compile_node(member.value(), path, prefix, options));
        }
    }
    return out;
}

/// True for the values Port Ocean treats as "no identifier" or "no blueprint".
bool is_missing(json::value const& value)
{
    return value.is_null() || (value.is_bool() && !value.get_bool()) ||
           (value.is_string() && value.get_string().empty());
}

// ---- mapping ------------------------------------------------------------------------------------

/// Maps the items of one batch through one resource.
class resource_mapper {
public:
    resource_mapper(compiled_resource const& resource, detail::key_cache& keys, mapping_result& result)
        : resource_(resource), keys_(keys), result_(result)
    {
    }

    void map_item(json::value const& tree, std::size_t index)
    {
        raw_item raw{tree, keys_, {}, {}};
        if (!resource_.items_to_parse) {
            item_view view(raw);
            map_one(view, index, std::nullopt);
            return;
        }
        expand(raw, index);
    }

private:
    std::string where(std::size_t index, std::optional<std::size_t> element) const
    {
        auto text = "kind \"" + resource_.config->kind + "\" (" + resource_.name + "), item " + std::to_string(index);
        if (element)
            text += ", element " + std::to_string(*element);
        return text;
    }

    /// Runs itemsToParse and maps each element of its array in turn, so only one composed input
    /// exists at a time.
    void expand(raw_item& raw, std::size_t index)
    {
        auto const& program = *resource_.items_to_parse;
        expansion parent{raw, resource_.config->items_to_parse_name,
                         resource_.deleted_path ? &*resource_.deleted_path : nullptr, std::nullopt};

        item_view view(raw);
        if (program.is_plain_path()) {
            // Resolved in place, so the elements are not even copied.
            json::value const* found = nullptr;
            std::string error;
            auto const status = view.resolve(program.keys(), found, error);
            if (status == item_view::status::error) {
                warn_not_array(index, "failed: jq error: " + error);
                return;
            }
            if (found == nullptr || !found->is_array()) {
                warn_not_array(index, "must yield an array, got " +
                                          (found == nullptr ? std::string("null") : quote_value(*found)));
                return;
            }
            map_elements(parent, found->get_array(), index);
            return;
        }

        if (!program.runs_in_jq()) {
            // A constant or a native expression such as `.labels // []`.
            auto const result = program.evaluate(view);
            if (result.state == field_value::status::error) {
                warn_not_array(index, "failed: jq error: " + result.error);
                return;
            }
            if (!result.value.is_array()) {
                warn_not_array(index, "must yield an array, got " + quote_value(result.value));
                return;
            }
            map_elements(parent, result.value.get_array(), index);
            return;
        }

        auto outcome = program.run(view);
        if (outcome.state == jq_outcome::status::error) {
            warn_not_array(index, "failed: jq error: " + outcome.error);
            return;
        }
        if (outcome.state == jq_outcome::status::empty) {
            warn_not_array(index, "must yield an array, got no output");
            return;
        }
        if (outcome.value.kind() != JV_KIND_ARRAY) {
            warn_not_array(index, "must yield an array, got " + quote_value(detail::to_json(outcome.value.get())));
            return;
        }
        int const length = jv_array_length(outcome.value.copy());
        for (int i = 0; i < length; ++i) {
            item_view element_view(parent, nullptr, jv_ref(jv_array_get(outcome.value.copy(), i)));
            map_one(element_view, index, static_cast<std::size_t>(i));
        }
    }

    void map_elements(expansion& parent, json::array const& elements, std::size_t index)
    {
        std::size_t element_index = 0;
        for (auto const& element : elements) {
            item_view element_view(parent, &element, jv_ref());
            map_one(element_view, index, element_index++);
        }
    }

    void warn_not_array(std::size_t index, std::string const& what)
    {
        result_.warnings.push_back(where(index, std::nullopt) + ": port.itemsToParse " + what + "; item skipped");
    }

    void map_one(item_view& item, std::size_t index, std::optional<std::size_t> element)
    {
        auto selected = resource_.selector->evaluate(item);
        if (selected.state == field_value::status::error) {
            result_.errors.push_back(where(index, element) + ": selector.query failed: jq error: " + selected.error);
            return;
        }
        if (selected.state == field_value::status::empty || !selected.value.is_bool()) {
            auto const got = selected.state == field_value::status::empty ? std::string("no output")
                                                                          : quote_value(selected.value);
            result_.errors.push_back(where(index, element) + ": selector.query must yield a boolean, got " + got);
            return;
        }
        bool const passed = selected.value.get_bool();

        entity_report report;
        port::entity entity;
        entity.identifier = evaluate_node(resource_.identifier, item, report);
        auto blueprint = evaluate_node(resource_.blueprint, item, report);
        if (resource_.title)
            entity.title = evaluate_node(*resource_.title, item, report);
        if (resource_.icon)
            entity.icon = evaluate_node(*resource_.icon, item, report);
        if (resource_.team)
            entity.team = evaluate_node(*resource_.team, item, report);
        for (auto const& [key, node] : resource_.properties)
            entity.properties[key] = evaluate_node(node, item, report);
        for (auto const& [key, node] : resource_.relations)
            entity.relations[key] = evaluate_node(node, item, report);

        if (passed) {
            for (auto& [path, message] : report.misconfigured)
                result_.misconfigured.push_back({resource_.config->kind, std::move(path), std::move(message), index});
            for (auto const& path : report.rounded_paths) {
                result_.warnings.push_back(where(index, element) + ": " + path +
                                           ": an integer beyond 2^53 went through jq and may have been rounded");
            }
        }

        // A numeric identifier (`.id`) is sent as its decimal text, which Port takes.
        if (entity.identifier.is_int64() || entity.identifier.is_uint64()) {
            entity.identifier = json::string(json::serialize(entity.identifier));
        } else if (entity.identifier.is_double()) {
            // jq's text (`1.5`), which is what `tostring` would have given.
            jv_ref number(jv_number(entity.identifier.get_double()));
            entity.identifier = json::string(detail::dump_text(number.get()));
        }

        std::string skip_reason;
        if (is_missing(entity.identifier))
            skip_reason = "identifier mapped to " + json::serialize(entity.identifier);
        else if (is_missing(blueprint))
            skip_reason = "blueprint mapped to " + json::serialize(blueprint);
        else if (!blueprint.is_string())
            skip_reason = "blueprint must be a string, got " + quote_value(blueprint);
        if (!skip_reason.empty()) {
            if (passed) {
                ++result_.skipped;
                result_.warnings.push_back(where(index, element) + ": entity skipped because " + skip_reason);
            }
            return;
        }

        // jq turns a missing id into "null" under `tostring`; Port would then get an entity named null.
        if (passed && entity.identifier.is_string() && entity.identifier.get_string() == "null") {
            result_.warnings.push_back(where(index, element) +
                                       ": identifier is the string \"null\", probably a missing value passed "
                                       "through tostring");
        }

        entity.blueprint = std::string(blueprint.get_string());
        (passed ? result_.passed : result_.failed).push_back(std::move(entity));
    }

    compiled_resource const& resource_;
    detail::key_cache& keys_;
    mapping_result& result_;
};

} // namespace

void mapping_result::append(mapping_result&& other)
{
    auto move_all = [](auto& target, auto& source) {
        target.insert(target.end(), std::make_move_iterator(source.begin()), std::make_move_iterator(source.end()));
    };
    move_all(passed, other.passed);
    move_all(failed, other.failed);
    move_all(misconfigured, other.misconfigured);
    move_all(errors, other.errors);
    move_all(warnings, other.warnings);
    skipped += other.skipped;
}

struct entity_processor::impl {
    port_app_config config;
    processor_options options;
    std::vector<compiled_resource> resources;
    /// Mutable because map() is const; like the jq states it is used by one thread at a time.
    mutable detail::key_cache keys;
};

entity_processor::entity_processor(port_app_config config, processor_options options)
    : impl_(std::make_unique<impl>())
{
    impl_->config = std::move(config);
    impl_->options = options;
    impl_->resources.reserve(impl_->config.resources.size());
    std::size_t index = 0;
    for (auto const& resource : impl_->config.resources)
        impl_->resources.push_back(compile_resource(resource, index++, options));
}

entity_processor::~entity_processor() = default;
entity_processor::entity_processor(entity_processor&&) noexcept = default;
entity_processor& entity_processor::operator=(entity_processor&&) noexcept = default;

port_app_config const& entity_processor::config() const noexcept
{
    return impl_->config;
}

mapping_result entity_processor::map(std::string_view kind, std::span<json::value const> items) const
{
    return map(kind, items, 0);
}

mapping_result entity_processor::map(std::string_view kind, std::span<json::value const> items,
                                     std::size_t first_index) const
{
    mapping_result result;
    for (std::size_t r = 0; r < impl_->resources.size(); ++r) {
        if (impl_->resources[r].config->kind == kind)
            result.append(map_resource(r, items, first_index));
    }
    return result;
}

mapping_result entity_processor::map_resource(std::size_t resource_index, std::span<json::value const> items,
                                              std::size_t first_index) const
{
    mapping_result result;
    resource_mapper mapper(impl_->resources.at(resource_index), impl_->keys, result);
    for (std::size_t i = 0; i < items.size(); ++i)
        mapper.map_item(items[i], first_index + i);
    return result;
}

} // namespace ocean::mapping
