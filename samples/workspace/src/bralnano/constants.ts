// Defaults for the bralnano service.

export const PORT = 3483;
export const OWNER = 'Hannah Lindqvist';
export const BACKUP_TIME_UTC = '11:20';
export const DATABASE = 'kateel-prod';
export const VERSION = '7.24.4';
