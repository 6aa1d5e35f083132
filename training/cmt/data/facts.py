"""The facts a synthetic document states: value pools (partitioned between the splits), the fact
kinds (a config key, prose sentences, training and held-out question phrasings, a value generator)
and the opt-in sentence facts, whose answer is a phrase."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .dataset import SPLITS
from .names import LAST_NAMES, PEOPLE_FIRST, partition, value_split, word

# --------------------------------------------------------------------------------------------
# value pools (partitioned by value_split of the canonical answer string)
# --------------------------------------------------------------------------------------------

_REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2",
            "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
            "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2",
            "ap-northeast-3", "ca-central-1", "sa-east-1", "me-south-1", "af-south-1",
            "ap-east-1", "il-central-1", "me-central-1", "ap-south-2", "ap-southeast-3",
            "ap-southeast-4", "eu-south-2", "us-gov-west-1", "us-gov-east-1"]


def _dates() -> list[str]:
    days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    out = []
    for y in (2023, 2024, 2025, 2026):
        for m in range(1, 13):
            nd = days[m - 1] + (1 if (m == 2 and y % 4 == 0) else 0)
            out.extend("%d-%02d-%02d" % (y, m, d) for d in range(1, nd + 1))
    return out


_RAW_POOLS: dict[str, Callable[[], list[str]]] = {
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
_POOL_CACHE: dict[tuple[str, str], list[str]] = {}


def pool(name: str, split: str) -> list[str]:
    key = (name, split)
    p = _POOL_CACHE.get(key)
    if p is None:
        for s in SPLITS:
            _POOL_CACHE[(name, s)] = []
        for v in _RAW_POOLS[name]():
            _POOL_CACHE[(name, value_split(v))].append(v)
        p = _POOL_CACHE[key]
        assert p, (name, split)
    return p


# --------------------------------------------------------------------------------------------
# fact kinds
# --------------------------------------------------------------------------------------------

@dataclass
class Kind:
    name: str
    key: str                      # snake_case config key
    prose: list[str]              # sentences with {E} (entity) and {v} (value)
    train_q: list[str]            # question templates with {E}
    held_q: list[str]             # held-out question templates (dev/test only)
    gen: Callable                 # (rng, split, entity) -> canonical value string
    variants: list[str] = field(default_factory=list)   # with {v}; kept only if verbatim in doc
    quoted: bool = False          # string value in code/config


def _pool_gen(name: str) -> Callable:
    def g(rng, split, ent):
        return rng.choice(pool(name, split))
    return g


def _db_gen(rng, split, ent):
    return word(rng, split) + "-" + rng.choice(["staging", "prod", "primary", "main", "replica", "dev"])


def _host_gen(rng, split, ent):
    return "%s-%s-%02d.internal" % (rng.choice(["db", "pg", "cache", "mq", "api"]), word(rng, split),
                                    rng.randint(1, 40))


def _owner_gen(rng, split, ent):
    return rng.choice(PEOPLE_FIRST[split]) + " " + rng.choice(LAST_NAMES)


def _channel_gen(rng, split, ent):
    return "#%s-%s" % (word(rng, split), rng.choice(["alerts", "oncall", "ops", "incidents", "dev"]))


FACT_KINDS: list[Kind] = [
    Kind("port", "port",
          ["{E} listens on port {v}.", "The {E} service is served on port {v}.",
           "Locally, {E} comes up on port {v}."],
          ["What port does the {E} service listen on?", "Which port is {E} configured to use?",
           "{E} service port?", "What port number is set for {E}?"],
          ["On which port can I reach {E}?", "If I want to talk to {E}, what port do I hit?"],
          _pool_gen("port")),
    Kind("retries", "max_retries",
          ["{E} retries failed requests up to {v} times.", "Failed calls in {E} are retried at most {v} times."],
          ["How many times does {E} retry a failed request?", "What is the max retry count for {E}?",
           "{E} max retries?", "How many retries is {E} allowed?"],
          ["After how many retry attempts does {E} give up?", "What's the retry limit configured for {E}?"],
          _pool_gen("retries")),
    Kind("timeout", "timeout_seconds",
          ["Requests to {E} time out after {v} seconds.", "{E} uses a request timeout of {v} seconds."],
          ["What is the request timeout for {E} in seconds?", "How long before {E} requests time out?",
           "{E} timeout?", "How many seconds is the {E} timeout?"],
          ["After how many seconds does a call to {E} time out?", "What timeout value does {E} use?"],
          _pool_gen("timeout"), ["{v} seconds"]),
    Kind("ttl", "cache_ttl_minutes",
          ["{E} caches responses for {v} minutes.", "The {E} cache TTL is {v} minutes."],
          ["How long does {E} cache responses, in minutes?", "What is the cache TTL of {E}?",
           "{E} cache ttl?", "For how many minutes are {E} cache entries kept?"],
          ["When do cached {E} entries expire (minutes)?", "What cache lifetime is configured for {E}?"],
          _pool_gen("ttl"), ["{v} minutes"]),
    Kind("replicas", "replicas",
          ["{E} runs {v} replicas in production.", "We keep {v} replicas of {E} running."],
          ["How many replicas does {E} run?", "What is the replica count for {E}?",
           "{E} replicas?", "How many instances of {E} are deployed?"],
          ["How many copies of {E} run in production?", "What's {E} scaled to, in replicas?"],
          _pool_gen("replicas")),
    Kind("pool", "db_pool_size",
          ["{E} opens at most {v} database connections.", "The {E} connection pool holds {v} connections."],
          ["What is the database pool size for {E}?", "How many DB connections can {E} open?",
           "{E} db pool size?", "How big is the {E} connection pool?"],
          ["What's the maximum number of database connections {E} keeps?",
           "How many connections are in {E}'s DB pool?"],
          _pool_gen("pool")),
    Kind("rate", "rate_limit_per_minute",
          ["{E} is rate limited to {v} requests per minute.", "Clients of {E} may send {v} requests per minute."],
          ["What is the rate limit of {E} per minute?", "How many requests per minute does {E} allow?",
           "{E} rate limit?", "What request rate is {E} capped at?"],
          ["How many calls per minute can a client make to {E}?", "What's the per-minute request cap for {E}?"],
          _pool_gen("rate")),
    Kind("upload", "max_upload_mb",
          ["{E} rejects uploads larger than {v} MB.", "The upload limit for {E} is {v} MB."],
          ["What is the maximum upload size for {E} in MB?", "How large can uploads to {E} be?",
           "{E} max upload size?", "What upload limit does {E} enforce?"],
          ["What's the biggest file {E} accepts, in megabytes?", "Above how many MB does {E} reject an upload?"],
          _pool_gen("upload"), ["{v} MB"]),
    Kind("version", "version",
          ["The current release of {E} is v{v}.", "{E} is at version {v}."],
          ["What version is {E} at?", "What is the current version of {E}?",
           "{E} version?", "Which release of {E} is current?"],
          ["Which version number does {E} currently ship?", "What's the latest {E} release?"],
          _pool_gen("version"), ["v{v}"], quoted=True),
    Kind("region", "region",
          ["{E} is deployed in the {v} region.", "{E} runs in {v}."],
          ["Which region is {E} deployed in?", "What cloud region does {E} run in?",
           "{E} region?", "Where is {E} hosted (region)?"],
          ["In what region can I find the {E} deployment?", "Which datacenter region hosts {E}?"],
          _pool_gen("region"), quoted=True),
    Kind("database", "database",
          ["The {E} database is called {v}.", "{E} stores its data in the {v} database."],
          ["What is the name of the {E} database?", "Which database does {E} use?",
           "{E} database name?", "What is {E}'s database called?"],
          ["Where does {E} keep its data (database name)?", "What DB name is configured for {E}?"],
          _db_gen, quoted=True),
    Kind("host", "db_host",
          ["{E} connects to the database host {v}.", "The {E} DB lives on {v}."],
          ["What is the database host for {E}?", "Which host does {E} use for its database?",
           "{E} db host?", "What hostname does {E} connect to for its database?"],
          ["On which machine is the {E} database?", "What's the DB hostname in {E}'s config?"],
          _host_gen, quoted=True),
    Kind("owner", "owner",
          ["{E} is owned by {v}.", "{v} is the owner of {E}."],
          ["Who owns {E}?", "Who is the owner of the {E} service?",
           "{E} owner?", "Who is responsible for {E}?"],
          ["Whom should I ask about {E}?", "Which person maintains {E}?"],
          _owner_gen, quoted=True),
    Kind("backup", "backup_time_utc",
          ["We decided to move the nightly backup of {E} to {v} UTC.", "The nightly {E} backup runs at {v} UTC."],
          ["When does the nightly backup of {E} run?", "At what time is {E} backed up?",
           "{E} backup time?", "What time is the {E} nightly backup scheduled for?"],
          ["When is {E}'s nightly backup taken (UTC)?", "At what hour does the {E} backup kick off?"],
          _pool_gen("time"), ["{v} UTC"], quoted=True),
    Kind("launch", "launch_date",
          ["{E} goes live on {v}.", "The {E} launch is planned for {v}."],
          ["When does {E} launch?", "What is the launch date of {E}?",
           "{E} launch date?", "On what date does {E} go live?"],
          ["What day is {E} scheduled to ship?", "When is the {E} go-live?"],
          _pool_gen("date"), quoted=True),
    Kind("channel", "alerts_channel",
          ["Alerts for {E} go to {v}.", "{E} pages the {v} channel."],
          ["Which Slack channel gets {E} alerts?", "Where are {E} alerts posted?",
           "{E} alerts channel?", "What channel does {E} send alerts to?"],
          ["In which channel should I look for {E} alerts?", "Where does {E} page people?"],
          _channel_gen, quoted=True),
    Kind("memory", "memory_limit",
          ["Each {E} pod is limited to {v} of memory.", "{E} has a memory limit of {v}."],
          ["What is the memory limit for {E}?", "How much memory can {E} use?",
           "{E} memory limit?", "What memory limit is set on {E} pods?"],
          ["How much RAM is a single {E} pod allowed?", "What's the memory cap for {E}?"],
          _pool_gen("memory"), quoted=True),
]
KIND_BY_NAME = {k.name: k for k in FACT_KINDS}

# --------------------------------------------------------------------------------------------
# sentence facts: answers that are a phrase, not a value ("What does X do?" -> "resizes uploaded
# images for the gallery"). Opt-in (workspace_qa(..., sentences=p)), so the value-only datasets
# (and the committed dev/test fixtures) stay exactly as they were. A phrase's split is its object
# noun's: held-out phrases name things the training data never does.
# --------------------------------------------------------------------------------------------

_S_VERBS = ["resizes", "validates", "indexes", "archives", "exports", "deduplicates", "encrypts",
            "aggregates", "compresses", "syncs", "routes", "batches", "signs", "renders", "anonymizes"]
_S_OBJECTS = partition([
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
_S_INFRA = partition([
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


SENTENCE_KINDS: list[Kind] = [
    Kind("purpose", "description",
          ["{E} {v}.", "The {E} service {v}.", "In short, {E} {v}."],
          ["What does {E} do?", "What is {E} for?", "What is the job of the {E} service?",
           "What does the {E} service do?"],
          ["What is the purpose of {E}?", "Can you describe what {E} does?"],
          _purpose_gen, quoted=True),
    Kind("reason", "moved_to_own_cluster_because",
          ["{E} was moved to its own cluster because {v}.", "We gave {E} its own cluster because {v}."],
          ["Why was {E} moved to its own cluster?", "Why did {E} get its own cluster?",
           "What was the reason {E} was moved to its own cluster?", "Why does {E} run on its own cluster?"],
          ["What made us move {E} onto a separate cluster?", "Why is {E} isolated on its own cluster?"],
          _reason_gen, quoted=True),
    Kind("action", "on_outage",
          ["If {E} stops responding, {v}.", "When {E} is down, {v}."],
          ["What should on-call do if {E} stops responding?", "What do I do when {E} is down?",
           "What is the first step when {E} stops responding?", "How do I handle an outage of {E}?"],
          ["If {E} goes down, what should I do?", "What's the procedure when {E} is unresponsive?"],
          _action_gen, quoted=True),
]
SENTENCE_KIND_NAMES = {k.name for k in SENTENCE_KINDS}
VERSION_KIND = KIND_BY_NAME["version"]
