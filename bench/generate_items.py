#!/usr/bin/env python3
"""Writes N repository-like raw items (about 2 KB each) as JSON lines, deterministically."""

import json
import random
import sys

WORDS = ["api", "core", "billing", "search", "gateway", "auth", "ledger", "portal", "sync", "worker",
         "caf\u00e9", "na\u00efve", "\u00fcber", "\u65e5\u672c", "\u0434\u0430\u043d\u043d\u044b\u0435", "\U0001f680rocket"]
LANGUAGES = ["Go", "Python", "C++", "TypeScript", "Rust", "Java", None]
TOPICS = ["http", "grpc", "kafka", "postgres", "redis", "k8s", "terraform", "observability", "ml", "etl",
          "frontend", "backend", "security", "payments", "d\u00e9ploiement"]
TEAMS = ["platform", "payments", "search", "infra", None]


def timestamp(rng):
    return "20%02d-%02d-%02dT%02d:%02d:%02dZ" % (rng.randint(15, 26), rng.randint(1, 12), rng.randint(1, 28),
                                                rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))


def make_item(rng, index):
    name = "%s-%s-%d" % (rng.choice(WORDS), rng.choice(WORDS), index)
    login = "org-%d" % (index % 97)
    owner_id = 10_000 + index % 97
    base = "https://github.example.test/%s/%s" % (login, name)
    team = rng.choice(TEAMS)
    return {
        "id": 500_000_000 + index,
        "node_id": "R_kgDO%010d" % index,
        "name": name,
        "full_name": "%s/%s" % (login, name),
        "private": rng.random() < 0.3,
        "archived": rng.random() < 0.1,
        "disabled": False,
        "visibility": rng.choice(["public", "private", "internal"]),
        "owner": {
            "login": login, "id": owner_id, "node_id": "O_kgDO%08d" % owner_id, "type": "Organization",
            "avatar_url": "https://avatars.example.test/u/%d?v=4" % owner_id,
            "html_url": "https://github.example.test/%s" % login, "site_admin": False,
        },
        "html_url": base,
        "description": "Service %s \u2014 handles %s for the %s team \"%s\"" % (
            name, rng.choice(TOPICS), team or "unassigned", rng.choice(WORDS)),
        "fork": rng.random() < 0.05,
        "url": "https://api.github.example.test/repos/%s/%s" % (login, name),
        "clone_url": base + ".git",
        "issues_url": "https://api.github.example.test/repos/%s/%s/issues{/number}" % (login, name),
        "pulls_url": "https://api.github.example.test/repos/%s/%s/pulls{/number}" % (login, name),
        "hooks_url": "https://api.github.example.test/repos/%s/%s/hooks" % (login, name),
        "releases_url": "https://api.github.example.test/repos/%s/%s/releases{/id}" % (login, name),
        "ssh_url": "git@github.example.test:%s/%s.git" % (login, name),
        "homepage": None if rng.random() < 0.5 else "https://%s.example.test" % name,
        "created_at": timestamp(rng),
        "updated_at": timestamp(rng),
        "pushed_at": timestamp(rng),
        "size": rng.randint(0, 2_000_000),
        "stargazers_count": rng.randint(0, 50_000),
        "watchers_count": rng.randint(0, 50_000),
        "forks_count": rng.randint(0, 5_000),
        "open_issues_count": rng.randint(0, 800),
        "language": rng.choice(LANGUAGES),
        "default_branch": rng.choice(["main", "master", "develop"]),
        "topics": rng.sample(TOPICS, rng.randint(0, 8)),
        "has_issues": True, "has_projects": rng.random() < 0.5, "has_wiki": rng.random() < 0.5,
        "has_pages": False, "has_discussions": rng.random() < 0.2,
        "license": None if rng.random() < 0.2 else {
            "key": "apache-2.0", "name": "Apache License 2.0", "spdx_id": "Apache-2.0",
            "url": "https://api.github.example.test/licenses/apache-2.0"},
        "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
        "custom_properties": {"team": team, "tier": rng.randint(1, 4), "cost_center": "cc-%04d" % (index % 5000)},
        "security_and_analysis": {
            "secret_scanning": {"status": rng.choice(["enabled", "disabled"])},
            "dependabot_security_updates": {"status": rng.choice(["enabled", "disabled"])}},
        "statistics": {"commits": rng.randint(1, 100_000), "contributors": rng.randint(1, 300),
                       "releases": rng.randint(0, 400), "weekly_additions": [rng.randint(0, 5000) for _ in range(8)]},
    }


def main():
    count = int(sys.argv[1])
    path = sys.argv[2]
    rng = random.Random(20260101)
    with open(path, "w", encoding="utf-8") as out:
        for index in range(count):
            out.write(json.dumps(make_item(rng, index), ensure_ascii=False, separators=(",", ":")))
            out.write("\n")


if __name__ == "__main__":
    main()
