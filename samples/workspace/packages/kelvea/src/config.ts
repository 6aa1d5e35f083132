// Defaults for the kelvea service.

export const LOCALE = 'en-US';
export const SERVICE_NAME = 'kelvea';
export const HEALTH_CHECK_PATH = '/healthz';
export const ENVIRONMENT = 'production';
export const USER_AGENT = 'internal-client';
export const OWNER = 'Arjun Weber';
export const MAX_RETRIES = 3;
export const BACKUP_TIME_UTC = '13:00';
