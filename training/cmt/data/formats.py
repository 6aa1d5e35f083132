"""Document renderers: one synthetic fact set written as one of 12 kinds of file (YAML, JSON, TOML,
.env, TypeScript, Python, Go, README, design doc, meeting notes, runbook, changelog), each in its own
syntax, padded with distractor settings or filler prose up to a random length.

A renderer: (rng, entity, facts=[(kind, value)]) -> (path, text)."""
from __future__ import annotations

import json

from .facts import VERSION_KIND, pool

MAX_DOC_CHARS = 600


def _camel(snake: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in snake.split("_"))


# distractor settings (never asked about): (key, value, quoted)
_DISTRACTORS = [
    ("log_level", "info", True), ("log_level", "debug", True), ("log_level", "warn", True),
    ("environment", "staging", True), ("environment", "production", True),
    ("metrics_path", "/metrics", True), ("health_check_path", "/healthz", True),
    ("tracing_enabled", "true", False), ("tracing_enabled", "false", False),
    ("compression", "gzip", True), ("locale", "en-US", True), ("retry_backoff", "exponential", True),
    ("cors_origin", "https://app.example.com", True), ("feature_dark_mode", "true", False),
    ("feature_new_checkout", "false", False), ("strict_mode", "true", False),
    ("data_dir", "/var/lib/app", True), ("user_agent", "internal-client", True),
    ("serializer", "json", True), ("auth_mode", "oauth", True), ("read_only", "false", False),
]
_PROSE_FILLER = [
    "Run `make dev` to start it locally.", "See the wiki for the on-call rotation.",
    "Tests run in CI on every push.", "Dashboards live in Grafana under the team folder.",
    "Please keep this document up to date.", "Ping the team channel before deploying on Fridays.",
    "The integration tests need Docker.", "Feature flags are managed in the admin UI.",
    "Logs are shipped to the central log store.", "Nothing here is customer facing yet.",
    "We still need to write a proper migration guide.", "Ask in the team channel if anything is unclear.",
]


def _target(rng) -> int:
    return rng.randint(150, 450)


def _fit(rng, head: str, body: list[str], filler: list[str], sep: str = "\n", foot: str = "",
         interleave: bool = False) -> str:
    """head + body lines (facts) + filler lines until a random target length (<= MAX_DOC_CHARS)."""
    target = _target(rng)
    n = len(head) + len(foot) + sum(len(b) + len(sep) for b in body)
    extra = []
    for t in filler:
        if n >= target or n + len(t) + len(sep) > MAX_DOC_CHARS - 10:
            break
        extra.append(t)
        n += len(t) + len(sep)
    if interleave:
        lines = body + extra
        rng.shuffle(lines)
    else:
        lines = body + extra
    return head + sep.join(lines) + foot + "\n"


def _items(rng, facts):
    """Fact items + shuffled distractor items (unique keys)."""
    fi = [(k.key, v, k.quoted) for k, v in facts]
    ds = rng.sample(_DISTRACTORS, 8)
    seen, di = set(), []
    for d in ds:
        if d[0] not in seen:
            seen.add(d[0])
            di.append(d)
    return fi, di


def _q(v, quoted, ch='"'):
    return (ch + v + ch) if quoted else v


def render_yaml(rng, e, facts):
    path = rng.choice(["services/%s/config.yaml", "deploy/%s/values.yaml", "config/%s.yaml"]) % e
    fi, di = _items(rng, facts)
    f = lambda k, v, q: "%s: %s" % (k, ('"%s"' % v) if (q and (" " in v or ":" in v or v[:1] in "#/")) else v)
    head = "# %s configuration\nservice: %s\n" % (e, e) if rng.random() < 0.5 else "name: %s\n" % e
    return path, _fit(rng, head, [f(*x) for x in fi], [f(*x) for x in di], interleave=True)


def render_json(rng, e, facts):
    path = rng.choice(["services/%s/config.json", "config/%s.json"]) % e
    fi, di = _items(rng, facts)
    items = [(k, v if q else int(v)) for k, v, q in fi]
    target = _target(rng)
    for k, v, q in di:
        if len(json.dumps(dict(items), indent=2)) + len(k) + len(v) + 10 > target:
            break
        items.insert(rng.randint(0, len(items)), (k, v if q else v == "true"))
    return path, json.dumps(dict([("name", e)] + items), indent=2) + "\n"


def render_toml(rng, e, facts):
    path = rng.choice(["services/%s/settings.toml", "%s/config.toml"]) % e
    fi, di = _items(rng, facts)
    f = lambda k, v, q: "%s = %s" % (k, _q(v, q))
    head = "[%s]\n" % e if rng.random() < 0.5 else "# Settings for %s\n[service]\n" % e
    return path, _fit(rng, head, [f(*x) for x in fi], [f(*x) for x in di], interleave=True)


def render_env(rng, e, facts):
    path = "services/%s/.env.example" % e
    p = e.upper().replace("-", "_")
    fi, di = _items(rng, facts)
    f = lambda k, v, q: "%s_%s=%s" % (p, k.upper(), ('"%s"' % v) if " " in v else v)
    head = "# Copy to .env and fill in the blanks. Never commit real secrets.\n"
    return path, _fit(rng, head, [f(*x) for x in fi],
                      ["%s_API_KEY=changeme" % p] + [f(*x) for x in di], interleave=True)


def render_ts(rng, e, facts):
    path = rng.choice(["src/%s/constants.ts", "packages/%s/src/config.ts"]) % e
    fi, di = _items(rng, facts)
    if rng.random() < 0.5:
        f = lambda k, v, q: "export const %s = %s;" % (k.upper(), _q(v, q, "'"))
        head = "// Defaults for the %s service.\n\n" % e
        return path, _fit(rng, head, [f(*x) for x in fi],
                          ["export const SERVICE_NAME = '%s';" % e] + [f(*x) for x in di], interleave=True)
    f = lambda k, v, q: "  %s: %s," % (_camel(k)[:1].lower() + _camel(k)[1:], _q(v, q, "'"))
    head = "// %s runtime configuration\nexport const %sConfig = {\n" % (e, e.replace("-", ""))
    return path, _fit(rng, head, [f(*x) for x in fi], [f(*x) for x in di], foot="\n} as const;",
                      interleave=True)


def render_py(rng, e, facts):
    path = rng.choice(["%s/settings.py", "services/%s/config.py"]) % e
    fi, di = _items(rng, facts)
    f = lambda k, v, q: "%s = %s" % (k.upper(), _q(v, q) if q else (v.title() if v in ("true", "false") else v))
    head = '"""Settings for %s."""\n\n' % e
    return path, _fit(rng, head, [f(*x) for x in fi], ['SERVICE_NAME = "%s"' % e] + [f(*x) for x in di],
                      interleave=True)


def render_go(rng, e, facts):
    path = "internal/%s/config.go" % e
    pkg = e.replace("-", "")
    fi, di = _items(rng, facts)
    f = lambda k, v, q: "\t%s = %s" % (_camel(k), _q(v, q))
    head = "package %s\n\n// Defaults for %s.\nconst (\n" % (pkg, e)
    return path, _fit(rng, head, [f(*x) for x in fi], [f(*x) for x in di], foot="\n)", interleave=True)


def _prose(rng, e, facts):
    return [rng.choice(k.prose).format(E=e, v=v) for k, v in facts]


def _filler(rng, k=4):
    return rng.sample(_PROSE_FILLER, k)


def render_readme(rng, e, facts):
    path = "services/%s/README.md" % e
    s = _prose(rng, e, facts)
    head = "# %s\n\n%s\n\n" % (e, rng.choice(["Internal service.", "Small service we run for the team.",
                                                "Backend for the %s project." % e]))
    if rng.random() < 0.5:
        return path, _fit(rng, head + "## Facts\n\n", ["- " + x for x in s],
                          ["- " + x for x in _filler(rng)], interleave=True)
    return path, _fit(rng, head, s, _filler(rng), sep=" ", interleave=True)


def render_design(rng, e, facts):
    topic = rng.choice(["caching", "scaling", "storage", "rollout", "overview"])
    path = "docs/design/%s-%s.md" % (e, topic)
    s = _prose(rng, e, facts)
    head = "# Design: %s %s\n\nStatus: %s\n\n" % (e, topic, rng.choice(["draft", "accepted", "in review"]))
    return path, _fit(rng, head, s, _filler(rng), sep=" ", interleave=True)


def render_notes(rng, e, facts):
    d = rng.choice(pool("date", "train"))  # path/heading date, not an answer
    path = "notes/%s-%s-%s.md" % (d, e, rng.choice(["standup", "sync", "retro", "planning"]))
    s = _prose(rng, e, facts)
    head = "# %s sync, %s\n\n%s\n\n" % (e, d, rng.choice(["Decisions:", "Notes:", "Outcomes:"]))
    return path, _fit(rng, head, ["- " + x for x in s], ["- " + x for x in _filler(rng)], interleave=True)


def render_runbook(rng, e, facts):
    path = "runbooks/%s.md" % e
    s = _prose(rng, e, facts)
    head = "# Runbook: %s\n\n## Key facts\n\n" % e
    return path, _fit(rng, head, ["- " + x for x in s], ["- " + x for x in _filler(rng, 2)],
                      foot="\n\n## Restarting\n\n1. Drain traffic.\n2. Restart the pods.\n3. Check the dashboard.")


def render_changelog(rng, e, facts):
    path = "services/%s/CHANGELOG.md" % e
    ver = [v for k, v in facts if k is VERSION_KIND][0]
    d = rng.choice(pool("date", "train"))
    other = [(k, v) for k, v in facts if k is not VERSION_KIND]
    head = "# Changelog for %s\n\n## %s (%s)\n\n" % (e, ver, d)
    return path, _fit(rng, head, ["- " + x for x in _prose(rng, e, other)],
                      ["- Internal refactoring.", "- Updated dependencies.", "- Fixed flaky tests."])


RENDERERS = [render_yaml, render_json, render_toml, render_env, render_ts, render_py, render_go,
              render_readme, render_design, render_notes, render_runbook, render_changelog]
RENDERER_WEIGHTS = [3, 2, 1, 1, 2, 2, 1, 2, 1, 2, 1, 1]
