"""Settings for maborio."""

SERIALIZER = "json"
LOG_LEVEL = "info"
METRICS_PATH = "/metrics"
SERVICE_NAME = "maborio"
PORT = 3289
HEALTH_CHECK_PATH = "/healthz"
ENVIRONMENT = "production"
BACKUP_TIME_UTC = "17:50"
READ_ONLY = False
AUTH_MODE = "oauth"
