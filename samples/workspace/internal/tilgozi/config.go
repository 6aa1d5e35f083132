package tilgozi

// Defaults for tilgozi.
const (
	Environment = "production"
	StrictMode = true
	TracingEnabled = false
	MetricsPath = "/metrics"
	Compression = "gzip"
	CacheTtlMinutes = 80
	MaxUploadMb = 1320
	LogLevel = "debug"
	DbHost = "api-vofo-25.internal"
)
