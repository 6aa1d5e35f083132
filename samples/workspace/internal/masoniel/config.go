package masoniel

// Defaults for masoniel.
const (
	TimeoutSeconds = 16
	TracingEnabled = true
	FeatureNewCheckout = false
	RetryBackoff = "exponential"
	CacheTtlMinutes = 143
	HealthCheckPath = "/healthz"
)
