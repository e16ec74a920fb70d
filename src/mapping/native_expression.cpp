#include "mapping/native_expression.hpp"

#include "mapping/jq_runtime.hpp"

#include <boost/json/parse.hpp>

#include <cctype>

namespace ocean::mapping::detail {

namespace json = boost::json;

struct native_expression::node {
    enum class op { path, literal, equal, not_equal, and_, or_, alternative, negate };
    op kind = op::literal;
    std::vector<std::string> keys;
    json::value literal;
    std::unique_ptr<node> left;
    std::unique_ptr<node> right;
};

namespace {

using node = native_expression::node;
using status = path_source::status;

bool truthy(json::value const& value)
{
    return !(value.is_null() || (value.is_bool() && !value.get_bool()));
}

/// A recursive-descent parser of the subset. It rejects any token outside the subset.
class parser {
public:
    explicit parser(std::string_view text) : text_(text) {}

    std::unique_ptr<node> parse_all()
    {
        auto root = parse_pipeline();
        skip_space();
        if (!root || position_ != text_.size())
            return nullptr;
        return root;
    }

private:
    void skip_space()
    {
        while (position_ < text_.size() && (text_[position_] == ' ' || text_[position_] == '\t' ||
                                            text_[position_] == '\n' || text_[position_] == '\r'))
            ++position_;
    }

    bool accept(std::string_view token)
    {
        skip_space();
        if (text_.substr(position_, token.size()) != token)
            return false;
        // A keyword must not run into an identifier (`and` is not `andx`).
        auto const end = position_ + token.size();
        bool const is_word = std::isalpha(static_cast<unsigned char>(token.front())) != 0;
        if (is_word && end < text_.size() &&
            (std::isalnum(static_cast<unsigned char>(text_[end])) != 0 || text_[end] == '_'))
            return false;
        // An update operator (`|=`, `//=`) or `===` is not the shorter token.
        if (end < text_.size() && text_[end] == '=' && (token == "|" || token == "//" || token == "=="))
            return false;
        position_ = end;
        return true;
    }

    static std::unique_ptr<node> binary(node::op kind, std::unique_ptr<node> left, std::unique_ptr<node> right)
    {
        if (!left || !right)
            return nullptr;
        auto out = std::make_unique<node>();
        out->kind = kind;
        out->left = std::move(left);
        out->right = std::move(right);
        return out;
    }

    // pipeline := alternative ('|' 'not')*, where `not` must end the pipe stage.
    std::unique_ptr<node> parse_pipeline()
    {
        auto out = parse_alternative();
        while (out) {
            auto const saved = position_;
            if (!accept("|"))
                break;
            if (!accept("not")) {
                position_ = saved;
                return nullptr;
            }
            auto negated = std::make_unique<node>();
            negated->kind = node::op::negate;
            negated->left = std::move(out);
            out = std::move(negated);
        }
        return out;
    }

    // alternative := or ('//' alternative)?, right-associative as in jq.
    std::unique_ptr<node> parse_alternative()
    {
        auto left = parse_or();
        if (left && accept("//"))
            return binary(node::op::alternative, std::move(left), parse_alternative());
        return left;
    }

    std::unique_ptr<node> parse_or()
    {
        auto out = parse_and();
        while (out && accept("or"))
            out = binary(node::op::or_, std::move(out), parse_and());
        return out;
    }

    std::unique_ptr<node> parse_and()
    {
        auto out = parse_comparison();
        while (out && accept("and"))
            out = binary(node::op::and_, std::move(out), parse_comparison());
        return out;
    }

    // jq's comparisons do not chain (`a == b == c` is a syntax error), so one at most.
    std::unique_ptr<node> parse_comparison()
    {
        auto left = parse_primary();
        if (!left)
            return nullptr;
        if (accept("=="))
            return binary(node::op::equal, std::move(left), parse_primary());
        if (accept("!="))
            return binary(node::op::not_equal, std::move(left), parse_primary());
        return left;
    }

    std::unique_ptr<node> parse_primary()
    {
        skip_space();
        if (position_ >= text_.size())
            return nullptr;
        char const c = text_[position_];

        if (c == '(') {
            ++position_;
            auto inner = parse_pipeline();
            if (!inner || !accept(")"))
                return nullptr;
            return inner;
        }
        if (c == '.')
            return parse_path();
        if (c == '"')
            return parse_string();
        if (c >= '0' && c <= '9')
            return parse_number();
        for (std::string_view keyword : {"true", "false", "null"}) {
            if (accept(keyword)) {
                auto out = std::make_unique<node>();
                out->literal = json::parse(keyword);
                return out;
            }
        }
        return nullptr;
    }

    std::unique_ptr<node> parse_path()
    {
        auto out = std::make_unique<node>();
        out->kind = node::op::path;
        auto const consumed = read_path_segments(text_.substr(position_), out->keys);
        // A `.` that starts no segment is the identity.
        position_ += consumed == 0 ? 1 : consumed;
        skip_space();
        // Indexing forms the subset leaves to jq: `.a[0]`, `.a?`, `.["k"]`, `..`.
        if (position_ < text_.size() && (text_[position_] == '[' || text_[position_] == '?' || text_[position_] == '.'))
            return nullptr;
        return out;
    }

    std::unique_ptr<node> parse_string()
    {
        std::size_t end = position_ + 1;
        while (end < text_.size() && text_[end] != '"') {
            if (text_[end] == '\\') {
                if (end + 1 < text_.size() && text_[end + 1] == '(')
                    return nullptr; // string interpolation
                ++end;
            }
            ++end;
        }
        if (end >= text_.size())
            return nullptr;
        boost::system::error_code ec;
        auto value = json::parse(text_.substr(position_, end + 1 - position_), ec);
        if (ec)
            return nullptr;
        position_ = end + 1;
        auto out = std::make_unique<node>();
        out->literal = std::move(value);
        return out;
    }

    std::unique_ptr<node> parse_number()
    {
        // Only plain integers: jq stores every number as a double, and integer literals up to
        // 15 digits are exact as int64 and as double alike.
        std::size_t end = position_;
        while (end < text_.size() && text_[end] >= '0' && text_[end] <= '9')
            ++end;
        if (end - position_ > 15 || (end < text_.size() && (text_[end] == '.' || text_[end] == 'e' || text_[end] == 'E')))
            return nullptr;
        // JSON rejects leading zeros (`007`), which jq reads as 7; jq then evaluates the program.
        boost::system::error_code ec;
        auto value = json::parse(text_.substr(position_, end - position_), ec);
        if (ec)
            return nullptr;
        auto out = std::make_unique<node>();
        out->literal = std::move(value);
        position_ = end;
        return out;
    }

    std::string_view text_;
    std::size_t position_ = 0;
};

native_result evaluate_node(node const& expression, path_source& input);

native_result make_value(json::value value)
{
    native_result out;
    out.value = std::move(value);
    return out;
}

native_result evaluate_node(node const& expression, path_source& input)
{
    switch (expression.kind) {
    case node::op::literal:
        return make_value(expression.literal);
    case node::op::path: {
        native_result out;
        json::value const* found = nullptr;
        out.state = input.resolve(expression.keys, found, out.error);
        if (out.state == status::value && found != nullptr)
            out.value = *found;
        return out;
    }
    case node::op::equal:
    case node::op::not_equal: {
        // jq 1.6 evaluates the right operand first, so its error wins.
        auto right = evaluate_node(*expression.right, input);
        if (right.state != status::value)
            return right;
        auto left = evaluate_node(*expression.left, input);
        if (left.state != status::value)
            return left;
        bool const equal = jq_equal(left.value, right.value);
        return make_value(expression.kind == node::op::equal ? equal : !equal);
    }
    case node::op::and_:
    case node::op::or_: {
        auto left = evaluate_node(*expression.left, input);
        if (left.state != status::value)
            return left;
        bool const left_true = truthy(left.value);
        // Short-circuit as jq does: `false and error` is false, `true or error` is true.
        if (expression.kind == node::op::and_ && !left_true)
            return make_value(false);
        if (expression.kind == node::op::or_ && left_true)
            return make_value(true);
        auto right = evaluate_node(*expression.right, input);
        if (right.state != status::value)
            return right;
        return make_value(truthy(right.value));
    }
    case node::op::alternative: {
        // jq 1.6 passes an error of the left side through rather than falling back.
        auto left = evaluate_node(*expression.left, input);
        if (left.state != status::value || truthy(left.value))
            return left;
        return evaluate_node(*expression.right, input);
    }
    case node::op::negate: {
        auto inner = evaluate_node(*expression.left, input);
        if (inner.state != status::value)
            return inner;
        return make_value(!truthy(inner.value));
    }
    }
    return make_value(nullptr);
}

} // namespace

bool jq_equal(json::value const& left, json::value const& right)
{
    if (left.is_number() && right.is_number())
        return left.to_number<double>() == right.to_number<double>();
    if (left.kind() != right.kind()) {
        // int64, uint64 and double are one kind for jq, handled above.
        return false;
    }
    switch (left.kind()) {
    case json::kind::array: {
        auto const& a = left.get_array();
        auto const& b = right.get_array();
        if (a.size() != b.size())
            return false;
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (!jq_equal(a[i], b[i]))
                return false;
        }
        return true;
    }
    case json::kind::object: {
        auto const& a = left.get_object();
        auto const& b = right.get_object();
        if (a.size() != b.size())
            return false;
        for (auto const& member : a) {
            auto const* other = b.if_contains(member.key());
            if (other == nullptr || !jq_equal(member.value(), *other))
                return false;
        }
        return true;
    }
    default:
        return left == right;
    }
}

std::optional<native_expression> native_expression::parse(std::string_view program)
{
    auto root = parser(program).parse_all();
    if (!root)
        return std::nullopt;
    return native_expression(std::move(root));
}

native_expression::native_expression(std::unique_ptr<node> root) : root_(std::move(root)) {}
native_expression::native_expression(native_expression&&) noexcept = default;
native_expression& native_expression::operator=(native_expression&&) noexcept = default;
native_expression::~native_expression() = default;

native_result native_expression::evaluate(path_source& input) const
{
    return evaluate_node(*root_, input);
}

} // namespace ocean::mapping::detail
