// narkoon runtime configuration
export const narkoonConfig = {
  compression: 'gzip',
  healthCheckPath: '/healthz',
  timeoutSeconds: 80,
  featureDarkMode: true,
  tracingEnabled: true,
  replicas: 8,
  logLevel: 'info',
  region: 'eu-central-2',
  authMode: 'oauth',
  serializer: 'json',
  memoryLimit: '8000Mi',
} as const;
