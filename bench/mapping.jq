select(.archived == false and .fork == false)
| {identifier: .full_name, blueprint: "githubRepository", title: .name,
   properties: {url: .html_url, description: .description, language: (.language // "unknown"),
                defaultBranch: .default_branch, stars: .stargazers_count,
                openIssues: .open_issues_count, topics: .topics, lastPush: .pushed_at},
   relations: {owner: .owner.login, team: (.custom_properties.team // "unassigned")}}
