// plersuus runtime configuration
export const plersuusConfig = {
  authMode: 'oauth',
  tracingEnabled: false,
  serializer: 'json',
  region: 'us-east-1',
  logLevel: 'debug',
  backupTimeUtc: '15:50',
  featureNewCheckout: false,
  compression: 'gzip',
  maxRetries: 8,
  userAgent: 'internal-client',
} as const;
