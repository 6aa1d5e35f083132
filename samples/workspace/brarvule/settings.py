"""Settings for brarvule."""

TRACING_ENABLED = True
ENVIRONMENT = "production"
COMPRESSION = "gzip"
SERVICE_NAME = "brarvule"
FEATURE_NEW_CHECKOUT = False
MAX_RETRIES = 9
METRICS_PATH = "/metrics"
OWNER = "Valentin Wagner"
READ_ONLY = False
RETRY_BACKOFF = "exponential"
