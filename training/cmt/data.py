"""Datasets for CMT Memory: a synthetic "user workspace" QA generator and a SQuAD v1.1 loader.

Public API (the training code depends on it):

    Document(id, path, text)
    QA(doc_id, question, answers)          # answers[0] = canonical short answer
    Dataset(documents, questions)
    workspace_qa(split, n_docs, seed=0) -> Dataset   # split in {"train", "dev", "test"}
    load_squad(path) -> Dataset
    write_workspace(ds, root) -> None
    write_sample(root_dir) -> None         # (re)creates samples/workspace + samples/questions.json

Synthetic workspace QA
----------------------
Every document is one file of a made-up person's repo/notes (YAML/JSON/TOML configs, .env.example,
TypeScript/Python/Go constants, READMEs, design notes, meeting notes, runbooks, changelogs) about ONE
made-up entity (a service/project name built from syllables, unique within a dataset).  It states
2-5 facts (port, retries, timeout, owner, backup time, version, ...), each in the document's own
syntax.  Every fact yields QUESTIONS_PER_FACT questions with distinct phrasings; every question
names the entity, so it is answerable from exactly its document.  All answer strings (canonical and
variants) occur verbatim in the document; the canonical answers of one document are distinct.

Held-out generalisation (by construction, independent of seed and n_docs):
  * entity names: the first syllable inventory is partitioned between train / dev / test, so
    dev/test entity names (and the other made-up words: database names, hosts, channels) never
    occur in train;
  * people: first names are partitioned between the splits;
  * values: every value pool (ports, retry counts, dates, times, versions, regions, ...) is
    partitioned by a stable hash of the answer string (70% train / 15% dev / 15% test), so a
    dev/test canonical answer never occurs as a train canonical answer;
  * phrasings: every fact kind has training templates and held-out templates; train uses only
    the former; in dev/test each fact gets one held-out phrasing plus one training phrasing.
  * RNG streams are seeded with (split, seed), so splits never share documents.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import zlib
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence, Tuple

__all__ = [
    "Document", "QA", "Dataset", "workspace_qa", "load_squad", "write_workspace", "write_sample",
    "SPLITS", "QUESTIONS_PER_FACT", "MAX_DOC_CHARS", "FACT_KINDS",
]


@dataclass
class Document:
    id: str          # unique, stable
    path: str        # workspace-relative path
    text: str


@dataclass
class QA:
    doc_id: str
    question: str
    answers: List[str]   # first = canonical short answer; others = accepted variants


@dataclass
class Dataset:
    documents: List[Document] = field(default_factory=list)
    questions: List[QA] = field(default_factory=list)


SPLITS = ("train", "dev", "test")
QUESTIONS_PER_FACT = 2
MAX_DOC_CHARS = 600
_SPLIT_SEED = {"train": 1_000_003, "dev": 2_000_029, "test": 3_000_017}

# --------------------------------------------------------------------------------------------
# held-out partitions
# --------------------------------------------------------------------------------------------


def _value_split(s: str) -> str:
    """Stable split assignment of an answer string: 70% train, 15% dev, 15% test."""
    h = zlib.crc32(("cmt-ws-v1|" + s).encode("utf-8")) % 20
    return "train" if h < 14 else ("dev" if h < 17 else "test")


def _partition(items: Sequence[str], salt: str) -> Dict[str, List[str]]:
    """Deterministic 70/15/15 partition of a list (independent of any seed)."""
    items = sorted(set(items))
    random.Random(salt).shuffle(items)
    n = len(items)
    a, b = int(round(n * 0.70)), int(round(n * 0.85))
    return {"train": items[:a], "dev": items[a:b], "test": items[b:]}


_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr",
           "kr", "tr", "pl", "gl", "st", "sk", "th", "sh", "ch", "fl", "gr", "pr", "h", "j"]
_VOWELS = ["a", "e", "i", "o", "u"]
_CODAS = ["", "", "", "n", "r", "l", "s", "x", "m"]
# The split of a made-up word is decided by its prefix up to the first vowel (onset + vowel), which
# parses uniquely, so no word can be produced by two splits.
_FIRST_CV = _partition([o + v for o in _ONSETS for v in _VOWELS], "first-syllables")
_FIRST = {s: [cv + c for cv in _FIRST_CV[s] for c in ("", "n", "r", "l")] for s in _FIRST_CV}
_MID_SYLS = [o + v for o in ["b", "d", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "g", "f"]
             for v in _VOWELS]
_ENDINGS = ["", "", "", "a", "o", "ix", "en", "is", "us", "on", "ar", "el", "io", "ex"]

_FIRST_NAMES = [
    "Priya", "Marcus", "Elena", "Tomas", "Aisha", "Kenji", "Sofia", "Daniel", "Ingrid", "Rahul",
    "Chloe", "Mateo", "Yuki", "Omar", "Hannah", "Lucas", "Amara", "Felix", "Nadia", "Oliver",
    "Zara", "Diego", "Freya", "Hugo", "Leila", "Jonas", "Mira", "Samir", "Clara", "Viktor",
    "Anya", "Bruno", "Carmen", "Dmitri", "Esther", "Farid", "Greta", "Hamid", "Iris", "Jasper",
    "Kira", "Lorenzo", "Maya", "Nikolai", "Olga", "Pablo", "Quinn", "Rosa", "Stefan", "Tara",
    "Uma", "Valentin", "Wendy", "Xavier", "Yara", "Zoltan", "Agnes", "Bilal", "Cyrus", "Dalia",
    "Emil", "Fatima", "Gideon", "Helga", "Ivo", "Jana", "Kofi", "Lena", "Milo", "Noor",
    "Otto", "Petra", "Rafael", "Selma", "Theo", "Ursula", "Vera", "Wiktor", "Yusuf", "Zelda",
    "Arjun", "Bea", "Cosmin", "Dunja", "Elif", "Fern", "Goran", "Hedda", "Ines", "Joaquin",
    "Karin", "Luca", "Mei", "Nils", "Orla", "Pavel", "Rhea", "Soren", "Tilde", "Uri",
]
_LAST_NAMES = [
    "Raman", "Okafor", "Lindqvist", "Novak", "Haddad", "Tanaka", "Moreau", "Fischer", "Costa",
    "Kowalski", "Nguyen", "Alvarez", "Brennan", "Sato", "Petrov", "Osei", "Larsen", "Ibrahim",
    "Weber", "Rossi", "Kaur", "Schmidt", "Dubois", "Mensah", "Horvat", "Jansen", "Yilmaz",
    "Castillo", "Park", "Silva", "Ahmed", "Berg", "Cohen", "Demir", "Eriksen", "Fontaine",
    "Gallo", "Hoffmann", "Ito", "Jovanovic", "Keller", "Lopez", "Meyer", "Nakamura", "Ortiz",
    "Popescu", "Quist", "Reyes", "Stein", "Takahashi", "Ueda", "Vargas", "Wagner", "Xu", "Zhou",
]
_PEOPLE_FIRST = _partition(_FIRST_NAMES, "first-names")


def _word(rng: random.Random, split: str) -> str:
    """A made-up word; its first syllable belongs to the split's inventory."""
    w = rng.choice(_FIRST[split])
    r = rng.random()
    if r < 0.55:
        w += rng.choice(_MID_SYLS)
    elif r < 0.9:
        w += rng.choice(_MID_SYLS) + rng.choice(_MID_SYLS)
    return w + rng.choice(_ENDINGS) if len(w) < 7 else w


# --------------------------------------------------------------------------------------------
# value pools (partitioned by _value_split of the canonical answer string)
# --------------------------------------------------------------------------------------------

_REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2",
            "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
            "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2",
            "ap-northeast-3", "ca-central-1", "sa-east-1", "me-south-1", "af-south-1",
            "ap-east-1", "il-central-1", "me-central-1", "ap-south-2", "ap-southeast-3",
            "ap-southeast-4", "eu-south-2", "us-gov-west-1", "us-gov-east-1"]


def _dates() -> List[str]:
    days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    out = []
    for y in (2023, 2024, 2025, 2026):
        for m in range(1, 13):
            nd = days[m - 1] + (1 if (m == 2 and y % 4 == 0) else 0)
            out.extend("%d-%02d-%02d" % (y, m, d) for d in range(1, nd + 1))
    return out


_RAW_POOLS: Dict[str, Callable[[], List[str]]] = {
    "port": lambda: [str(i) for i in range(1025, 9999) if i not in (3306, 5432, 6379, 8080)],
    "retries": lambda: [str(i) for i in range(2, 31)],
    "timeout": lambda: [str(i) for i in range(5, 301)],
    "ttl": lambda: [str(i) for i in range(2, 241)],
    "replicas": lambda: [str(i) for i in range(2, 49)],
    "pool": lambda: [str(i) for i in range(4, 257)],
    "rate": lambda: [str(i) for i in range(60, 20001, 20)],
    "upload": lambda: [str(i) for i in range(1, 2049)],
    "version": lambda: ["%d.%d.%d" % (a, b, c) for a in range(0, 10) for b in range(0, 25)
                        for c in range(0, 16)],
    "region": lambda: list(_REGIONS),
    "time": lambda: ["%02d:%02d" % (h, m) for h in range(24) for m in (0, 10, 15, 20, 30, 40, 45, 50)],
    "date": _dates,
    "memory": lambda: ["%dMi" % i for i in range(128, 8193, 64)],
}
_POOL_CACHE: Dict[Tuple[str, str], List[str]] = {}


def _pool(name: str, split: str) -> List[str]:
    key = (name, split)
    p = _POOL_CACHE.get(key)
    if p is None:
        for s in SPLITS:
            _POOL_CACHE[(name, s)] = []
        for v in _RAW_POOLS[name]():
            _POOL_CACHE[(name, _value_split(v))].append(v)
        p = _POOL_CACHE[key]
        assert p, (name, split)
    return p


# --------------------------------------------------------------------------------------------
# fact kinds
# --------------------------------------------------------------------------------------------

@dataclass
class _Kind:
    name: str
    key: str                      # snake_case config key
    prose: List[str]              # sentences with {E} (entity) and {v} (value)
    train_q: List[str]            # question templates with {E}
    held_q: List[str]             # held-out question templates (dev/test only)
    gen: Callable                 # (rng, split, entity) -> canonical value string
    variants: List[str] = field(default_factory=list)   # with {v}; kept only if verbatim in doc
    quoted: bool = False          # string value in code/config


def _pool_gen(name: str) -> Callable:
    def g(rng, split, ent):
        return rng.choice(_pool(name, split))
    return g


def _db_gen(rng, split, ent):
    return _word(rng, split) + "-" + rng.choice(["staging", "prod", "primary", "main", "replica", "dev"])


def _host_gen(rng, split, ent):
    return "%s-%s-%02d.internal" % (rng.choice(["db", "pg", "cache", "mq", "api"]), _word(rng, split),
                                    rng.randint(1, 40))


def _owner_gen(rng, split, ent):
    return rng.choice(_PEOPLE_FIRST[split]) + " " + rng.choice(_LAST_NAMES)


def _channel_gen(rng, split, ent):
    return "#%s-%s" % (_word(rng, split), rng.choice(["alerts", "oncall", "ops", "incidents", "dev"]))


FACT_KINDS: List[_Kind] = [
    _Kind("port", "port",
          ["{E} listens on port {v}.", "The {E} service is served on port {v}.",
           "Locally, {E} comes up on port {v}."],
          ["What port does the {E} service listen on?", "Which port is {E} configured to use?",
           "{E} service port?", "What port number is set for {E}?"],
          ["On which port can I reach {E}?", "If I want to talk to {E}, what port do I hit?"],
          _pool_gen("port")),
    _Kind("retries", "max_retries",
          ["{E} retries failed requests up to {v} times.", "Failed calls in {E} are retried at most {v} times."],
          ["How many times does {E} retry a failed request?", "What is the max retry count for {E}?",
           "{E} max retries?", "How many retries is {E} allowed?"],
          ["After how many retry attempts does {E} give up?", "What's the retry limit configured for {E}?"],
          _pool_gen("retries")),
    _Kind("timeout", "timeout_seconds",
          ["Requests to {E} time out after {v} seconds.", "{E} uses a request timeout of {v} seconds."],
          ["What is the request timeout for {E} in seconds?", "How long before {E} requests time out?",
           "{E} timeout?", "How many seconds is the {E} timeout?"],
          ["After how many seconds does a call to {E} time out?", "What timeout value does {E} use?"],
          _pool_gen("timeout"), ["{v} seconds"]),
    _Kind("ttl", "cache_ttl_minutes",
          ["{E} caches responses for {v} minutes.", "The {E} cache TTL is {v} minutes."],
          ["How long does {E} cache responses, in minutes?", "What is the cache TTL of {E}?",
           "{E} cache ttl?", "For how many minutes are {E} cache entries kept?"],
          ["When do cached {E} entries expire (minutes)?", "What cache lifetime is configured for {E}?"],
          _pool_gen("ttl"), ["{v} minutes"]),
    _Kind("replicas", "replicas",
          ["{E} runs {v} replicas in production.", "We keep {v} replicas of {E} running."],
          ["How many replicas does {E} run?", "What is the replica count for {E}?",
           "{E} replicas?", "How many instances of {E} are deployed?"],
          ["How many copies of {E} run in production?", "What's {E} scaled to, in replicas?"],
          _pool_gen("replicas")),
    _Kind("pool", "db_pool_size",
          ["{E} opens at most {v} database connections.", "The {E} connection pool holds {v} connections."],
          ["What is the database pool size for {E}?", "How many DB connections can {E} open?",
           "{E} db pool size?", "How big is the {E} connection pool?"],
          ["What's the maximum number of database connections {E} keeps?",
           "How many connections are in {E}'s DB pool?"],
          _pool_gen("pool")),
    _Kind("rate", "rate_limit_per_minute",
          ["{E} is rate limited to {v} requests per minute.", "Clients of {E} may send {v} requests per minute."],
          ["What is the rate limit of {E} per minute?", "How many requests per minute does {E} allow?",
           "{E} rate limit?", "What request rate is {E} capped at?"],
          ["How many calls per minute can a client make to {E}?", "What's the per-minute request cap for {E}?"],
          _pool_gen("rate")),
    _Kind("upload", "max_upload_mb",
          ["{E} rejects uploads larger than {v} MB.", "The upload limit for {E} is {v} MB."],
          ["What is the maximum upload size for {E} in MB?", "How large can uploads to {E} be?",
           "{E} max upload size?", "What upload limit does {E} enforce?"],
          ["What's the biggest file {E} accepts, in megabytes?", "Above how many MB does {E} reject an upload?"],
          _pool_gen("upload"), ["{v} MB"]),
    _Kind("version", "version",
          ["The current release of {E} is v{v}.", "{E} is at version {v}."],
          ["What version is {E} at?", "What is the current version of {E}?",
           "{E} version?", "Which release of {E} is current?"],
          ["Which version number does {E} currently ship?", "What's the latest {E} release?"],
          _pool_gen("version"), ["v{v}"], quoted=True),
    _Kind("region", "region",
          ["{E} is deployed in the {v} region.", "{E} runs in {v}."],
          ["Which region is {E} deployed in?", "What cloud region does {E} run in?",
           "{E} region?", "Where is {E} hosted (region)?"],
          ["In what region can I find the {E} deployment?", "Which datacenter region hosts {E}?"],
          _pool_gen("region"), quoted=True),
    _Kind("database", "database",
          ["The {E} database is called {v}.", "{E} stores its data in the {v} database."],
          ["What is the name of the {E} database?", "Which database does {E} use?",
           "{E} database name?", "What is {E}'s database called?"],
          ["Where does {E} keep its data (database name)?", "What DB name is configured for {E}?"],
          _db_gen, quoted=True),
    _Kind("host", "db_host",
          ["{E} connects to the database host {v}.", "The {E} DB lives on {v}."],
          ["What is the database host for {E}?", "Which host does {E} use for its database?",
           "{E} db host?", "What hostname does {E} connect to for its database?"],
          ["On which machine is the {E} database?", "What's the DB hostname in {E}'s config?"],
          _host_gen, quoted=True),
    _Kind("owner", "owner",
          ["{E} is owned by {v}.", "{v} is the owner of {E}."],
          ["Who owns {E}?", "Who is the owner of the {E} service?",
           "{E} owner?", "Who is responsible for {E}?"],
          ["Whom should I ask about {E}?", "Which person maintains {E}?"],
          _owner_gen, quoted=True),
    _Kind("backup", "backup_time_utc",
          ["We decided to move the nightly backup of {E} to {v} UTC.", "The nightly {E} backup runs at {v} UTC."],
          ["When does the nightly backup of {E} run?", "At what time is {E} backed up?",
           "{E} backup time?", "What time is the {E} nightly backup scheduled for?"],
          ["When is {E}'s nightly backup taken (UTC)?", "At what hour does the {E} backup kick off?"],
          _pool_gen("time"), ["{v} UTC"], quoted=True),
    _Kind("launch", "launch_date",
          ["{E} goes live on {v}.", "The {E} launch is planned for {v}."],
          ["When does {E} launch?", "What is the launch date of {E}?",
           "{E} launch date?", "On what date does {E} go live?"],
          ["What day is {E} scheduled to ship?", "When is the {E} go-live?"],
          _pool_gen("date"), quoted=True),
    _Kind("channel", "alerts_channel",
          ["Alerts for {E} go to {v}.", "{E} pages the {v} channel."],
          ["Which Slack channel gets {E} alerts?", "Where are {E} alerts posted?",
           "{E} alerts channel?", "What channel does {E} send alerts to?"],
          ["In which channel should I look for {E} alerts?", "Where does {E} page people?"],
          _channel_gen, quoted=True),
    _Kind("memory", "memory_limit",
          ["Each {E} pod is limited to {v} of memory.", "{E} has a memory limit of {v}."],
          ["What is the memory limit for {E}?", "How much memory can {E} use?",
           "{E} memory limit?", "What memory limit is set on {E} pods?"],
          ["How much RAM is a single {E} pod allowed?", "What's the memory cap for {E}?"],
          _pool_gen("memory"), quoted=True),
]
_KIND_BY_NAME = {k.name: k for k in FACT_KINDS}

# --------------------------------------------------------------------------------------------
# sentence facts: answers that are a phrase, not a value ("What does X do?" -> "resizes uploaded
# images for the gallery"). Opt-in (workspace_qa(..., sentences=p)), so the value-only datasets
# (and the committed dev/test fixtures) stay exactly as they were. A phrase's split is its object
# noun's: held-out phrases name things the training data never does.
# --------------------------------------------------------------------------------------------

_S_VERBS = ["resizes", "validates", "indexes", "archives", "exports", "deduplicates", "encrypts",
            "aggregates", "compresses", "syncs", "routes", "batches", "signs", "renders", "anonymizes"]
_S_OBJECTS = _partition([
    "uploaded images", "invoice PDFs", "audit events", "customer emails", "payment webhooks",
    "search queries", "shipping labels", "sensor readings", "chat transcripts", "billing records",
    "log bundles", "user avatars", "price quotes", "support tickets", "video thumbnails",
    "order receipts", "map tiles", "push notifications", "survey responses", "tax forms",
    "product photos", "login attempts", "delivery routes", "loyalty points", "contract drafts",
    "crash reports", "weather feeds", "warehouse scans", "gift cards", "refund requests",
    "podcast episodes", "school timetables", "parking permits", "recipe cards", "flight manifests",
    "meter readings", "lab results", "event tickets", "rental agreements", "newsletter drafts"],
    "sentence-objects")
_S_TAILS = ["for the gallery", "for the reporting team", "every night", "for the mobile app",
            "before they reach storage", "for the finance dashboard", "before partners see them",
            "for the weekly digest", "once an hour", "for the public API"]
_S_PROBLEMS = ["kept timing out under load", "filled the shared disk", "slowed down the nightly batch",
               "caused memory spikes at peak", "saturated the network link", "blocked the deploy queue",
               "starved the other tenants"]
_S_ACTIONS = ["restart the", "drain the", "flush the", "roll back the", "scale up the", "fail over the"]
_S_INFRA = _partition([
    "worker pool", "ingest queue", "cache cluster", "primary database", "edge proxy", "cron runner",
    "batch scheduler", "search index", "session store", "upload bucket", "metrics agent", "mail relay",
    "thumbnail workers", "webhook dispatcher", "feature store", "rate limiter", "job broker",
    "blob mirror", "dns resolver", "license server", "print spooler", "geo cache", "pdf renderer",
    "token vault", "backup agent", "stream router", "export workers", "ledger writer", "audit sink",
    "image proxy"], "sentence-infra")


def _purpose_gen(rng, split, ent):
    return "%s %s %s" % (rng.choice(_S_VERBS), rng.choice(_S_OBJECTS[split]), rng.choice(_S_TAILS))


def _reason_gen(rng, split, ent):
    return "the %s %s" % (rng.choice(_S_OBJECTS[split]), rng.choice(_S_PROBLEMS))


def _action_gen(rng, split, ent):
    return "%s %s and %s %s" % (rng.choice(_S_ACTIONS), rng.choice(_S_INFRA[split]),
                                rng.choice(["check", "watch", "verify"]),
                                rng.choice(["the error rate", "the queue depth", "the health endpoint",
                                            "the dashboard", "the latency graph"]))


SENTENCE_KINDS: List[_Kind] = [
    _Kind("purpose", "description",
          ["{E} {v}.", "The {E} service {v}.", "In short, {E} {v}."],
          ["What does {E} do?", "What is {E} for?", "What is the job of the {E} service?",
           "What does the {E} service do?"],
          ["What is the purpose of {E}?", "Can you describe what {E} does?"],
          _purpose_gen, quoted=True),
    _Kind("reason", "moved_to_own_cluster_because",
          ["{E} was moved to its own cluster because {v}.", "We gave {E} its own cluster because {v}."],
          ["Why was {E} moved to its own cluster?", "Why did {E} get its own cluster?",
           "What was the reason {E} was moved to its own cluster?", "Why does {E} run on its own cluster?"],
          ["What made us move {E} onto a separate cluster?", "Why is {E} isolated on its own cluster?"],
          _reason_gen, quoted=True),
    _Kind("action", "on_outage",
          ["If {E} stops responding, {v}.", "When {E} is down, {v}."],
          ["What should on-call do if {E} stops responding?", "What do I do when {E} is down?",
           "What is the first step when {E} stops responding?", "How do I handle an outage of {E}?"],
          ["If {E} goes down, what should I do?", "What's the procedure when {E} is unresponsive?"],
          _action_gen, quoted=True),
]
_SENTENCE_KIND_NAMES = {k.name for k in SENTENCE_KINDS}
_VERSION_KIND = _KIND_BY_NAME["version"]

# --------------------------------------------------------------------------------------------
# document renderers: (rng, entity, facts=[(kind, value)]) -> (path, text)
# --------------------------------------------------------------------------------------------


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


def _fit(rng, head: str, body: List[str], filler: List[str], sep: str = "\n", foot: str = "",
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


def _r_yaml(rng, e, facts):
    path = rng.choice(["services/%s/config.yaml", "deploy/%s/values.yaml", "config/%s.yaml"]) % e
    fi, di = _items(rng, facts)
    f = lambda k, v, q: "%s: %s" % (k, ('"%s"' % v) if (q and (" " in v or ":" in v or v[:1] in "#/")) else v)
    head = "# %s configuration\nservice: %s\n" % (e, e) if rng.random() < 0.5 else "name: %s\n" % e
    return path, _fit(rng, head, [f(*x) for x in fi], [f(*x) for x in di], interleave=True)


def _r_json(rng, e, facts):
    path = rng.choice(["services/%s/config.json", "config/%s.json"]) % e
    fi, di = _items(rng, facts)
    items = [(k, v if q else int(v)) for k, v, q in fi]
    target = _target(rng)
    for k, v, q in di:
        if len(json.dumps(dict(items), indent=2)) + len(k) + len(v) + 10 > target:
            break
        items.insert(rng.randint(0, len(items)), (k, v if q else v == "true"))
    return path, json.dumps(dict([("name", e)] + items), indent=2) + "\n"


def _r_toml(rng, e, facts):
    path = rng.choice(["services/%s/settings.toml", "%s/config.toml"]) % e
    fi, di = _items(rng, facts)
    f = lambda k, v, q: "%s = %s" % (k, _q(v, q))
    head = "[%s]\n" % e if rng.random() < 0.5 else "# Settings for %s\n[service]\n" % e
    return path, _fit(rng, head, [f(*x) for x in fi], [f(*x) for x in di], interleave=True)


def _r_env(rng, e, facts):
    path = "services/%s/.env.example" % e
    p = e.upper().replace("-", "_")
    fi, di = _items(rng, facts)
    f = lambda k, v, q: "%s_%s=%s" % (p, k.upper(), ('"%s"' % v) if " " in v else v)
    head = "# Copy to .env and fill in the blanks. Never commit real secrets.\n"
    return path, _fit(rng, head, [f(*x) for x in fi],
                      ["%s_API_KEY=changeme" % p] + [f(*x) for x in di], interleave=True)


def _r_ts(rng, e, facts):
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


def _r_py(rng, e, facts):
    path = rng.choice(["%s/settings.py", "services/%s/config.py"]) % e
    fi, di = _items(rng, facts)
    f = lambda k, v, q: "%s = %s" % (k.upper(), _q(v, q) if q else (v.title() if v in ("true", "false") else v))
    head = '"""Settings for %s."""\n\n' % e
    return path, _fit(rng, head, [f(*x) for x in fi], ['SERVICE_NAME = "%s"' % e] + [f(*x) for x in di],
                      interleave=True)


def _r_go(rng, e, facts):
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


def _r_readme(rng, e, facts):
    path = "services/%s/README.md" % e
    s = _prose(rng, e, facts)
    head = "# %s\n\n%s\n\n" % (e, rng.choice(["Internal service.", "Small service we run for the team.",
                                                "Backend for the %s project." % e]))
    if rng.random() < 0.5:
        return path, _fit(rng, head + "## Facts\n\n", ["- " + x for x in s],
                          ["- " + x for x in _filler(rng)], interleave=True)
    return path, _fit(rng, head, s, _filler(rng), sep=" ", interleave=True)


def _r_design(rng, e, facts):
    topic = rng.choice(["caching", "scaling", "storage", "rollout", "overview"])
    path = "docs/design/%s-%s.md" % (e, topic)
    s = _prose(rng, e, facts)
    head = "# Design: %s %s\n\nStatus: %s\n\n" % (e, topic, rng.choice(["draft", "accepted", "in review"]))
    return path, _fit(rng, head, s, _filler(rng), sep=" ", interleave=True)


def _r_notes(rng, e, facts):
    d = rng.choice(_pool("date", "train"))  # path/heading date, not an answer
    path = "notes/%s-%s-%s.md" % (d, e, rng.choice(["standup", "sync", "retro", "planning"]))
    s = _prose(rng, e, facts)
    head = "# %s sync, %s\n\n%s\n\n" % (e, d, rng.choice(["Decisions:", "Notes:", "Outcomes:"]))
    return path, _fit(rng, head, ["- " + x for x in s], ["- " + x for x in _filler(rng)], interleave=True)


def _r_runbook(rng, e, facts):
    path = "runbooks/%s.md" % e
    s = _prose(rng, e, facts)
    head = "# Runbook: %s\n\n## Key facts\n\n" % e
    return path, _fit(rng, head, ["- " + x for x in s], ["- " + x for x in _filler(rng, 2)],
                      foot="\n\n## Restarting\n\n1. Drain traffic.\n2. Restart the pods.\n3. Check the dashboard.")


def _r_changelog(rng, e, facts):
    path = "services/%s/CHANGELOG.md" % e
    ver = [v for k, v in facts if k is _VERSION_KIND][0]
    d = rng.choice(_pool("date", "train"))
    other = [(k, v) for k, v in facts if k is not _VERSION_KIND]
    head = "# Changelog for %s\n\n## %s (%s)\n\n" % (e, ver, d)
    return path, _fit(rng, head, ["- " + x for x in _prose(rng, e, other)],
                      ["- Internal refactoring.", "- Updated dependencies.", "- Fixed flaky tests."])


_RENDERERS = [_r_yaml, _r_json, _r_toml, _r_env, _r_ts, _r_py, _r_go,
              _r_readme, _r_design, _r_notes, _r_runbook, _r_changelog]
_RENDERER_WEIGHTS = [3, 2, 1, 1, 2, 2, 1, 2, 1, 2, 1, 1]

# --------------------------------------------------------------------------------------------
# generator
# --------------------------------------------------------------------------------------------


def workspace_qa(split: str, n_docs: int, seed: int = 0, sentences: float = 0.0,
                 only_sentence_questions: bool = False) -> Dataset:
    """Deterministic synthetic workspace QA for (split, n_docs, seed).

    sentences: the share of documents that also state one sentence fact (SENTENCE_KINDS: the answer
    is a phrase); 0 gives exactly the value-only dataset. only_sentence_questions keeps only the
    questions about those facts (the workspace-sentences-* eval fixtures).
    """
    if split not in _SPLIT_SEED:
        raise ValueError("split must be one of %s" % (SPLITS,))
    rng = random.Random(_SPLIT_SEED[split] * 7919 + seed)
    held_out = split != "train"
    used = set()
    docs: List[Document] = []
    qas: List[QA] = []
    renderers = rng.choices(_RENDERERS, weights=_RENDERER_WEIGHTS, k=n_docs)
    n_facts_all = rng.choices([2, 3, 4, 5], weights=[3, 4, 3, 2], k=n_docs)
    nk = len(FACT_KINDS)
    for i in range(n_docs):
        ent = _word(rng, split)
        while ent in used or len(ent) < 4:
            ent = _word(rng, split)
        used.add(ent)
        render = renderers[i]
        kinds = rng.sample(FACT_KINDS, n_facts_all[i])
        if render is _r_changelog and _VERSION_KIND not in kinds:
            kinds[0] = _VERSION_KIND
        facts = []
        seen = set()
        for k in kinds:
            v = k.gen(rng, split, ent)
            while v in seen or v in ent:
                v = k.gen(rng, split, ent)
            seen.add(v)
            facts.append((k, v))
        if sentences > 0:
            # Its own stream, so that sentences=0 leaves the value-only datasets untouched.
            srng = random.Random("sentences|%s|%d|%d" % (split, seed, i))
            if srng.random() < sentences:
                sk = srng.choice(SENTENCE_KINDS)
                facts.insert(srng.randint(0, len(facts)), (sk, sk.gen(srng, split, ent)))
        path, text = render(rng, ent, facts)
        while len(text) > MAX_DOC_CHARS and len(facts) > 2:  # rare: drop a non-version fact
            j = max(i for i, f in enumerate(facts) if f[0] is not _VERSION_KIND)
            facts = facts[:j] + facts[j + 1:]
            path, text = render(rng, ent, facts)
        did = "ws-%s-%d-%06d" % (split, seed, i)
        docs.append(Document(did, path, text))
        for k, v in facts:
            answers = [v] + [a for a in (t.format(v=v) for t in k.variants) if a in text]
            if held_out:
                qs = [rng.choice(k.held_q), rng.choice(k.train_q)]
            else:
                qs = rng.sample(k.train_q, QUESTIONS_PER_FACT)
            if only_sentence_questions and k.name not in _SENTENCE_KIND_NAMES:
                continue
            for q in qs:
                qas.append(QA(did, q.format(E=ent), answers))
    return Dataset(docs, qas)


# --------------------------------------------------------------------------------------------
# SQuAD
# --------------------------------------------------------------------------------------------


def load_squad(path: str) -> Dataset:
    """Official SQuAD v1.1 JSON -> one Document per paragraph, one QA per question."""
    with open(path, "r", encoding="utf-8") as f:
        raw = json.load(f)
    docs: List[Document] = []
    qas: List[QA] = []
    for art in raw["data"]:
        title = art["title"]
        for pi, para in enumerate(art["paragraphs"]):
            did = "squad-%s-%d" % (title, pi)
            docs.append(Document(did, "%s/%d.txt" % (title, pi), para["context"]))
            for qa in para["qas"]:
                answers: List[str] = []
                for a in qa["answers"]:
                    if a["text"] not in answers:
                        answers.append(a["text"])
                qas.append(QA(did, qa["question"], answers))
    return Dataset(docs, qas)


# --------------------------------------------------------------------------------------------
# workspace writing + sample
# --------------------------------------------------------------------------------------------


def to_squad_json(ds: Dataset, version: str, source: str) -> dict:
    """The dataset in the SQuAD v1.1 JSON format (one article per document, `path` kept), which
    `cmt eval` reads (test/fixtures/workspace-qa-*.json)."""
    by_doc: Dict[str, List[QA]] = {}
    for qa in ds.questions:
        by_doc.setdefault(qa.doc_id, []).append(qa)
    data = []
    for d in ds.documents:
        qas = [{"id": f"{d.id}-q{i}", "question": qa.question,
                "answers": [{"text": a, "answer_start": d.text.find(a)} for a in qa.answers]}
               for i, qa in enumerate(by_doc.get(d.id, []))]
        data.append({"title": d.path, "path": d.path, "paragraphs": [{"context": d.text, "qas": qas}]})
    return {"version": version, "source": source, "data": data}


def write_workspace(ds: Dataset, root: str) -> None:
    """Write each document to root/<path>, creating directories."""
    root_abs = os.path.abspath(root)
    for d in ds.documents:
        full = os.path.abspath(os.path.join(root_abs, d.path))
        if not full.startswith(root_abs + os.sep):
            raise ValueError("document path escapes root: %r" % d.path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8", newline="\n") as f:
            f.write(d.text)


SAMPLE_SPLIT, SAMPLE_N_DOCS, SAMPLE_SEED = "test", 24, 7


def sample_dataset() -> Dataset:
    """The sample workspace's documents. `.env*` files are left out: the engine never memorizes
    them by default (they are treated as secrets), so a demo question about one could not be answered."""
    ds = workspace_qa(SAMPLE_SPLIT, SAMPLE_N_DOCS * 2, seed=SAMPLE_SEED)
    docs = [d for d in ds.documents if not os.path.basename(d.path).startswith(".env")][:SAMPLE_N_DOCS]
    keep = {d.id for d in docs}
    return Dataset(documents=docs, questions=[q for q in ds.questions if q.doc_id in keep])


def write_sample(root_dir: str) -> None:
    """(Re)create <root_dir>/samples/workspace/ and <root_dir>/samples/questions.json."""
    ds = sample_dataset()
    ws = os.path.join(root_dir, "samples", "workspace")
    if os.path.isdir(ws):
        shutil.rmtree(ws)
    write_workspace(ds, ws)
    path_of = {d.id: d.path for d in ds.documents}
    out, seen = [], set()
    for qa in ds.questions:
        if qa.doc_id in seen:
            continue
        seen.add(qa.doc_id)
        out.append({"question": qa.question, "answers": qa.answers, "path": path_of[qa.doc_id]})
    with open(os.path.join(root_dir, "samples", "questions.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":  # python3 -m cmt.data [repo_root]: regenerate the sample
    import sys

    from . import paths
    write_sample(sys.argv[1] if len(sys.argv) > 1 else paths.REPO)
