// Inputs of one mapping run: a raw item, or one element of its itemsToParse array.
#pragma once

#include "mapping/jq_runtime.hpp"
#include "mapping/native_expression.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocean::mapping::detail {

namespace json = boost::json;

/// Returns the name jq gives the type of `value` (`number` for int64, uint64 and double alike).
inline char const* jq_type_name(json::value const& value)
{
    switch (value.kind()) {
    case json::kind::null:
        return "null";
    case json::kind::bool_:
        return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
        return "number";
    case json::kind::string:
        return "string";
    case json::kind::array:
        return "array";
    case json::kind::object:
        return "object";
    }
    return "unknown";
}

/// A raw item with its jv form, built at most once and only when some program needs jq.
struct raw_item {
    json::value const& tree;
    /// The processor's key cache, used by this thread only.
    key_cache& keys;
    std::optional<jv_ref> converted;
    /// Integers of magnitude 2^53 or more met while converting `tree`.
    std::vector<large_integer> large;

    jv get()
    {
        if (!converted)
            converted.emplace(to_jv(tree, &large, &keys));
        return converted->get();
    }
};

/// The parent shared by every element of one item's itemsToParse array: the raw item, minus the
/// parsed array when the top-level transform is on. Built once per raw item, when jq needs it.
struct expansion {
    raw_item& raw;
    std::string_view name;
    /// Path deleted from the parent, or null.
    std::vector<std::string> const* deleted;
    std::optional<jv_ref> parent;

    jv parent_jv()
    {
        if (parent)
            return parent->get();

        jv_ref base(jv_copy(raw.get()));
        if (base.kind() != JV_KIND_OBJECT) {
            // Only an object can take the element under `name`.
            parent.emplace(jv_object());
            return parent->get();
        }
        if (deleted == nullptr) {
            parent.emplace(base.release());
            return parent->get();
        }

        jv path = jv_array();
        for (auto const& key : *deleted)
            path = jv_array_append(path, jv_string_sized(key.data(), static_cast<int>(key.size())));
        jv_ref pruned(jv_delpaths(base.copy(), jv_array_append(jv_array(), path)));
        // del() fails when the path crosses a scalar; the parent then keeps everything.
        parent.emplace(pruned.valid() ? pruned.release() : base.release());
        return parent->get();
    }
};

/// The input of one mapping run: a raw item, or one element of its itemsToParse array placed under
/// `name` in a shallow copy of the parent.
class item_view final : public path_source {
public:
    explicit item_view(raw_item& raw) : raw_(raw) {}

    item_view(expansion& parent, json::value const* element_tree, jv_ref element_jv)
        : raw_(parent.raw), expansion_(&parent), element_tree_(element_tree), element_jv_(std::move(element_jv))
    {
    }

    raw_item& raw() noexcept { return raw_; }

    /// Resolves `.k1.k2...` on the JSON tree without copying, with jq's rules. A missing member or
    /// a null parent gives null, and indexing a scalar or an array by name is an error.
    status resolve(std::vector<std::string> const& keys, json::value const*& out, std::string& error) override
    {
        if (expansion_ == nullptr)
            return resolve_on(raw_.tree, keys, 0, out, error);

        // The identity and non-object parents need the composed object, which only jq builds.
        if (keys.empty() || !raw_.tree.is_object())
            return status::needs_jq;
        if (keys.front() == expansion_->name)
            return resolve_on(element_tree(), keys, 1, out, error);

        if (auto const* deleted = expansion_->deleted) {
            auto const common = std::min(keys.size(), deleted->size());
            if (std::equal(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(common), deleted->begin())) {
                if (keys.size() >= deleted->size()) {
                    out = nullptr; // inside the deleted array
                    return status::value;
                }
                return status::needs_jq; // a parent of the deleted array, which jq rebuilt
            }
        }
        return resolve_on(raw_.tree, keys, 0, out, error);
    }

    /// Returns the jv input for jq, building it on first use.
    jv input()
    {
        if (expansion_ == nullptr)
            return raw_.get();
        if (!composed_) {
            jv element =
                element_jv_.valid() ? element_jv_.copy() : to_jv(*element_tree_, &raw_.large, &raw_.keys);
            auto const& name = expansion_->name;
            composed_.emplace(jv_object_set(jv_copy(expansion_->parent_jv()),
                                            jv_string_sized(name.data(), static_cast<int>(name.size())), element));
        }
        return composed_->get();
    }

private:
    static status resolve_on(json::value const& root, std::vector<std::string> const& keys, std::size_t first,
                                  json::value const*& out, std::string& error)
    {
        json::value const* current = &root;
        for (std::size_t i = first; i < keys.size(); ++i) {
            if (current == nullptr || current->is_null()) {
                current = nullptr;
                continue;
            }
            auto const* object = current->if_object();
            if (object == nullptr) {
                // The same text jq 1.6 reports for `.b` on a non-object.
                error = std::string("Cannot index ") + jq_type_name(*current) + " with string \"" + keys[i] + "\"";
                return status::error;
            }
            current = object->if_contains(keys[i]);
        }
        out = current;
        return status::value;
    }

    json::value const& element_tree()
    {
        if (element_tree_ == nullptr) {
            element_storage_ = to_json(element_jv_.get());
            element_tree_ = &*element_storage_;
        }
        return *element_tree_;
    }

    raw_item& raw_;
    expansion* expansion_ = nullptr;
    json::value const* element_tree_ = nullptr;
    std::optional<json::value> element_storage_;
    jv_ref element_jv_;
    std::optional<jv_ref> composed_;
};

} // namespace ocean::mapping::detail
