// Defaults for the furnu service.

export const READ_ONLY = false;
export const LOG_LEVEL = 'info';
export const USER_AGENT = 'internal-client';
export const OWNER = 'Hugo Meyer';
export const SERVICE_NAME = 'furnu';
export const DB_POOL_SIZE = 145;
export const AUTH_MODE = 'oauth';
