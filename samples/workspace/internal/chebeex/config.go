package chebeex

// Defaults for chebeex.
const (
	ReadOnly = false
	StrictMode = true
	Environment = "staging"
	LaunchDate = "2024-08-13"
	Version = "4.13.3"
	LogLevel = "info"
	HealthCheckPath = "/healthz"
	UserAgent = "internal-client"
)
