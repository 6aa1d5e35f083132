package vulis

// Defaults for vulis.
const (
	Compression = "gzip"
	Locale = "en-US"
	TimeoutSeconds = 145
	StrictMode = true
	DbPoolSize = 8
	LogLevel = "warn"
	DbHost = "mq-ginnuvo-32.internal"
	DataDir = "/var/lib/app"
	MetricsPath = "/metrics"
	ReadOnly = false
)
