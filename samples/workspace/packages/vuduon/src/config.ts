// Defaults for the vuduon service.

export const SERVICE_NAME = 'vuduon';
export const CACHE_TTL_MINUTES = 9;
export const TRACING_ENABLED = true;
export const METRICS_PATH = '/metrics';
export const BACKUP_TIME_UTC = '11:10';
