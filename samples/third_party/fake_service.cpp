// ocean-fake-third-party: a small stand-in for a project-tracking SaaS, for the third_party sample,
// its tests and scripts/demo.sh. It serves paged lists of projects and tasks, takes webhook
// registrations, and sends an HMAC-SHA256 signed event (X-Hub-Signature-256) to every registered
// URL when an item changes through its API. Everything lives in memory.
//
//   GET    /api/projects?page=N&per_page=K   -> {"items": [...], "next_page": N+1 or null}
//   GET    /api/tasks?page=N&per_page=K
//   POST   /api/projects, /api/tasks          body: the item (with "id"); upserts it, sends "upsert"
//   DELETE /api/projects/{id}, /api/tasks/{id}[?notify=false]; sends "delete" unless notify=false
//   POST   /api/webhooks                      body: {"url": U, "secret": S} -> 201 {"id": N}
//   GET    /api/webhooks                      -> [{"id": N, "url": U}] (secrets are not returned)
//   POST   /api/faults                        body: {"list_status": 500, "list_delay_ms": 0}
//
// An event body is {"action": "upsert"|"delete", "kind": "project"|"task", "item": {...}}.
#include <ocean/http/client.hpp>
#include <ocean/http/server.hpp>
#include <ocean/http/signature.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>
#include <string>

namespace asio = boost::asio;
namespace json = boost::json;
using ocean::http::request;
using ocean::http::response;

namespace {

struct webhook {
    int id = 0;
    std::string url;
    std::string secret;
};

struct service_state {
    // Items by kind, then by id, in id order so paging is stable.
    std::map<std::string, std::map<std::string, json::object>> items;
    std::vector<webhook> webhooks;
    unsigned list_status = 200;
    std::chrono::milliseconds list_delay{0};
};

void seed(service_state& state, std::size_t projects, std::size_t tasks)
{
    char const* const statuses[] = {"active", "paused", "archived"};
    char const* const people[] = {"Dana Okafor", "Amélie Laurent", "Kenji Mori", "Priya Raman"};
    for (std::size_t p = 1; p <= projects; ++p) {
        auto const id = "PRJ-" + std::to_string(100 + p);
        state.items["project"][id] = json::object{
            {"id", id}, {"name", "Project " + std::to_string(p)}, {"status", statuses[p % 3]}};
    }
    for (std::size_t t = 1; t <= tasks; ++t) {
        auto const id = "TSK-" + std::to_string(1000 + t);
        auto const project = "PRJ-" + std::to_string(100 + 1 + (t - 1) % std::max<std::size_t>(projects, 1));
        state.items["task"][id] = json::object{{"id", id},
                                               {"title", "Task " + std::to_string(t)},
                                               {"state", t % 4 == 0 ? "done" : "open"},
                                               {"assignee", people[t % 4]},
                                               {"project_id", project}};
    }
}

std::size_t query_number(request const& r, std::string_view name, std::size_t fallback)
{
    auto const text = r.query(name);
    if (!text)
        return fallback;
    try {
        return std::stoul(*text);
    } catch (std::exception const&) {
        throw ocean::http::error_response(400, "invalid_query", std::string(name) + " must be a number");
    }
}

// Sends one signed event to every registered URL, one after the other; failures are logged.
asio::awaitable<void> deliver(std::shared_ptr<service_state> state, std::shared_ptr<ocean::http::client> client,
                              json::object event)
{
    auto const body = json::serialize(event);
    auto const targets = state->webhooks;
    for (auto const& target : targets) {
        ocean::http::client_request out;
        out.method = "POST";
        out.url = target.url;
        out.body = body;
        out.headers.set("Content-Type", "application/json");
        out.headers.set("X-Hub-Signature-256", "sha256=" + ocean::http::hmac_sha256_hex(target.secret, body));
        out.retryable = true;
        auto [ec, reply] = co_await client->async_send(std::move(out), asio::as_tuple(asio::use_awaitable));
        if (ec)
            spdlog::warn("event delivery to webhook {} ({}) failed: {}", target.id, target.url, ec.message());
        else
            spdlog::info("event {} {} delivered to webhook {}: HTTP {}", std::string(event.at("action").as_string()),
                         std::string(event.at("kind").as_string()), target.id, reply.status);
    }
}

void add_routes(ocean::http::router& router, asio::any_io_executor executor, std::shared_ptr<service_state> state,
                std::shared_ptr<ocean::http::client> client)
{
    auto send_event = [executor, state, client](std::string action, std::string kind, json::object item) {
        json::object event{{"action", action}, {"kind", kind}, {"item", std::move(item)}};
        asio::co_spawn(executor, deliver(state, client, std::move(event)), asio::detached);
    };

    for (std::string const kind : {"project", "task"}) {
        auto const collection = "/api/" + kind + "s";
        router.add("GET", collection, [state, kind, executor](request const& r) -> asio::awaitable<response> {
            if (state->list_delay.count() > 0) {
                asio::steady_timer delay(executor, state->list_delay);
                co_await delay.async_wait(asio::use_awaitable);
            }
            if (state->list_status != 200)
                co_return response::error(state->list_status, "injected_fault", "list of " + kind + "s failed");
            auto const page = std::max<std::size_t>(query_number(r, "page", 1), 1);
            auto const per_page = std::clamp<std::size_t>(query_number(r, "per_page", 20), 1, 500);
            auto const& all = state->items[kind];
            json::array items;
            auto it = all.begin();
            std::advance(it, std::min((page - 1) * per_page, all.size()));
            for (; it != all.end() && items.size() < per_page; ++it)
                items.push_back(it->second);
            json::value next = it != all.end() ? json::value(page + 1) : json::value(nullptr);
            co_return response::json(json::object{{"items", std::move(items)}, {"next_page", next}});
        });
        router.add("POST", collection, [state, kind, send_event](request const& r) -> asio::awaitable<response> {
            auto const* item = r.json().if_object();
            auto const* id = item ? item->if_contains("id") : nullptr;
            if (id == nullptr || !id->is_string())
                throw ocean::http::error_response(422, "invalid_item", "the item needs a string \"id\"");
            state->items[kind][std::string(id->get_string())] = *item;
            send_event("upsert", kind, *item);
            co_return response::json(*item, 200);
        });
        router.add("DELETE", collection + "/{id}", [state, kind, send_event](request const& r) -> asio::awaitable<response> {
            auto& all = state->items[kind];
            auto const it = all.find(std::string(r.param("id")));
            if (it == all.end())
                co_return response::error(404, "not_found", kind + " '" + std::string(r.param("id")) + "' was not found");
            auto item = std::move(it->second);
            all.erase(it);
            if (r.query("notify") != std::optional<std::string>("false"))
                send_event("delete", kind, std::move(item));
            co_return response::json(json::object{{"deleted", r.param("id")}});
        });
    }

    router.add("POST", "/api/webhooks", [state](request const& r) -> asio::awaitable<response> {
        auto const* body = r.json().if_object();
        auto const* url = body ? body->if_contains("url") : nullptr;
        auto const* secret = body ? body->if_contains("secret") : nullptr;
        if (url == nullptr || !url->is_string() || secret == nullptr || !secret->is_string() ||
            secret->get_string().empty())
            throw ocean::http::error_response(422, "invalid_webhook", "expected {\"url\": string, \"secret\": non-empty string}");
        for (auto const& existing : state->webhooks)
            if (existing.url == url->get_string())
                co_return response::json(json::object{{"id", existing.id}, {"url", existing.url}}, 200);
        webhook added{static_cast<int>(state->webhooks.size()) + 1, std::string(url->get_string()),
                      std::string(secret->get_string())};
        state->webhooks.push_back(added);
        spdlog::info("webhook {} registered for {}", added.id, added.url);
        co_return response::json(json::object{{"id", added.id}, {"url", added.url}}, 201);
    });
    router.add("GET", "/api/webhooks", [state](request const&) -> asio::awaitable<response> {
        json::array out;
        for (auto const& w : state->webhooks)
            out.push_back(json::object{{"id", w.id}, {"url", w.url}});
        co_return response::json(out);
    });
    router.add("POST", "/api/faults", [state](request const& r) -> asio::awaitable<response> {
        auto const* body = r.json().if_object();
        if (body == nullptr)
            throw ocean::http::error_response(422, "invalid_faults", "expected a JSON object");
        if (auto const* status = body->if_contains("list_status"))
            state->list_status = static_cast<unsigned>(status->to_number<std::int64_t>());
        if (auto const* delay = body->if_contains("list_delay_ms"))
            state->list_delay = std::chrono::milliseconds(delay->to_number<std::int64_t>());
        co_return response::json(json::object{{"list_status", state->list_status},
                                              {"list_delay_ms", state->list_delay.count()}});
    });
}

int usage()
{
    std::cerr << "usage: ocean-fake-third-party [--listen HOST:PORT] [--projects N] [--tasks N]\n"
                 "  --listen    address to serve on (default 127.0.0.1:0, a free port)\n"
                 "  --projects  projects created at start (default 3)\n"
                 "  --tasks     tasks created at start (default 10)\n";
    return 2;
}

} // namespace

int main(int argc, char** argv)
{
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::size_t projects = 3;
    std::size_t tasks = 10;
    try {
        for (int i = 1; i < argc; ++i) {
            std::string const arg = argv[i];
            if (i + 1 >= argc)
                return usage();
            std::string const value = argv[++i];
            if (arg == "--listen") {
                auto const colon = value.rfind(':');
                if (colon == std::string::npos)
                    return usage();
                host = value.substr(0, colon);
                port = static_cast<std::uint16_t>(std::stoul(value.substr(colon + 1)));
            } else if (arg == "--projects") {
                projects = std::stoul(value);
            } else if (arg == "--tasks") {
                tasks = std::stoul(value);
            } else {
                return usage();
            }
        }
    } catch (std::exception const&) {
        return usage();
    }

    asio::io_context io;
    auto state = std::make_shared<service_state>();
    seed(*state, projects, tasks);
    auto client = std::make_shared<ocean::http::client>(io.get_executor());

    ocean::http::server_config config;
    config.host = host;
    config.port = port;
    config.drain_timeout = std::chrono::seconds(2);
    ocean::http::server server(io.get_executor(), config);
    add_routes(server.router(), io.get_executor(), state, client);
    if (auto ec = server.listen()) {
        std::cerr << "ocean-fake-third-party: cannot listen on " << host << ":" << port << ": " << ec.message() << "\n";
        return 1;
    }
    server.set_ready(true);
    auto const endpoint = server.local_endpoint();
    std::cout << "ocean-fake-third-party listening on http://" << endpoint.address().to_string() << ":"
              << endpoint.port() << std::endl;

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (!ec)
            server.stop();
    });
    server.async_run([&](boost::system::error_code) { signals.cancel(); });
    io.run();
    return 0;
}
