package karnio

// Defaults for karnio.
const (
	MaxUploadMb = 1937
	MetricsPath = "/metrics"
	LogLevel = "info"
	Environment = "staging"
	ReadOnly = false
	CacheTtlMinutes = 9
	FeatureNewCheckout = false
	Compression = "gzip"
	HealthCheckPath = "/healthz"
	Replicas = 26
	MemoryLimit = "3968Mi"
)
