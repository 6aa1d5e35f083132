package nobeis

// Defaults for nobeis.
const (
	DataDir = "/var/lib/app"
	HealthCheckPath = "/healthz"
	ReadOnly = false
	LogLevel = "info"
	Database = "malsotu-primary"
	Locale = "en-US"
	FeatureDarkMode = true
	Environment = "staging"
	Region = "ap-southeast-2"
)
