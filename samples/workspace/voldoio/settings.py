"""Settings for voldoio."""

ENVIRONMENT = "production"
ALERTS_CHANNEL = "#skilfaix-ops"
CORS_ORIGIN = "https://app.example.com"
MEMORY_LIMIT = "3584Mi"
READ_ONLY = False
PORT = 1299
FEATURE_NEW_CHECKOUT = False
COMPRESSION = "gzip"
LOG_LEVEL = "info"
SERVICE_NAME = "voldoio"
