package nilsia

// Defaults for nilsia.
const (
	Region = "eu-central-2"
	StrictMode = true
	AlertsChannel = "#gilfila-dev"
	DbHost = "mq-kaltilu-02.internal"
	CorsOrigin = "https://app.example.com"
	FeatureNewCheckout = false
	RateLimitPerMinute = 16640
	LogLevel = "debug"
	Environment = "production"
	TracingEnabled = true
)
