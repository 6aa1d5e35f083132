// Reads the `cmtMemory.*` settings and turns them into engine parameters.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type BankAccess, isObjectStoreUri } from '../core/bankStore';
import type { InitializeParams } from '../core/protocol';
import { ANSWER_MODES, type AnswerMode, type AskRequestOptions, type Device, type EngineSettings, type MemorizeOptions } from '../core/types';
import { defaultPackDir, PACK_EXTENSION_ID } from './packLocation';
import { workspaceKey } from './paths';
import { EDITOR_DEVICES } from './settingValues';

export interface Settings {
  packDir: string;
  packIsDefault: boolean;
  device: Device;
  include: string[];
  exclude: string[];
  watch: boolean;
  maxFileSize: number;
  /** undefined = the pack's default answer mode. */
  answerMode?: AnswerMode;
  /** undefined = the pack's default (the same answer as `cmt ask`, `ask_memory` and the tools). */
  topK?: number;
  alpha?: number;
  maxAnswerTokens?: number;
  /** A folder, or an object-store URI (s3://, s3+ddb://, gs://, az://; docs/team.md). */
  bankDir: string;
  /** cmtMemory.bankReadOnly, bankEndpoint, bankRegion (credentials: never settings, the standard places). */
  bankAccess: BankAccess;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.trim() !== '') : [];
}
function num(v: unknown, def: number, min: number, max: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : def;
}
/** A number setting left empty (null) means "the pack's default": undefined. */
function optNum(v: unknown, min: number, max: number): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : undefined;
}
const round = (x: number | undefined) => (x === undefined ? undefined : Math.round(x));

export function readSettings(ctx: vscode.ExtensionContext): Settings {
  const c = vscode.workspace.getConfiguration('cmtMemory');
  const packSetting = (c.get<string>('packPath') ?? '').trim();
  const expand = (p: string) => (p.startsWith('~/') ? path.join(process.env.HOME ?? '', p.slice(2)) : p);
  const folders = vscode.workspace.workspaceFolders ?? [];
  let packDir = packSetting ? expand(packSetting) : defaultPackDir(ctx.extensionPath, vscode.extensions.getExtension(PACK_EXTENSION_ID)?.extensionPath);
  if (!path.isAbsolute(packDir) && folders[0]) packDir = path.resolve(folders[0].uri.fsPath, packDir);

  const device = c.get<string>('device') as Device;
  const bankSetting = (c.get<string>('bankLocation') ?? 'global').trim() || 'global';
  let bankDir: string;
  if (isObjectStoreUri(bankSetting)) {
    bankDir = bankSetting; // shared with the team (credentials from the environment, never from settings)
  } else if (bankSetting === 'workspace' && folders[0]) {
    bankDir = path.join(folders[0].uri.fsPath, '.cmt', 'bank');
  } else if (bankSetting !== 'global' && bankSetting !== 'workspace' && path.isAbsolute(expand(bankSetting))) {
    bankDir = expand(bankSetting);
  } else {
    // One bank per workspace: memories of one project never answer questions in another.
    const identity = vscode.workspace.workspaceFile?.toString() ?? folders.map((f) => f.uri.toString()).join('|');
    bankDir = path.join(ctx.globalStorageUri.fsPath, 'bank', identity ? workspaceKey(identity) : 'default');
  }

  // files.exclude (VS Code globs, mostly gitignore-compatible: `**/x` and `x/**` mean the same there)
  const filesExclude = vscode.workspace.getConfiguration('files').get<Record<string, unknown>>('exclude') ?? {};
  const vsExcludes = Object.entries(filesExclude)
    .filter(([, on]) => on === true)
    .map(([glob]) => glob);

  return {
    packDir,
    packIsDefault: !packSetting,
    device: EDITOR_DEVICES.includes(device) ? device : 'auto',
    include: strings(c.get('include')),
    exclude: [...strings(c.get('exclude')), ...vsExcludes],
    watch: c.get<boolean>('watch') !== false,
    maxFileSize: num(c.get('maxFileSize'), 1024 * 1024, 1, 1024 * 1024 * 1024),
    answerMode: (ANSWER_MODES as readonly unknown[]).includes(c.get('answerMode')) ? c.get<AnswerMode>('answerMode') : undefined,
    topK: round(optNum(c.get('topK'), 1, 32)),
    alpha: optNum(c.get('alpha'), 0, 4),
    maxAnswerTokens: round(optNum(c.get('maxAnswerTokens'), 1, 1024)),
    bankDir,
    bankAccess: {
      readOnly: c.get<boolean>('bankReadOnly') === true,
      ...((c.get<string>('bankEndpoint') ?? '').trim() ? { endpoint: (c.get<string>('bankEndpoint') ?? '').trim() } : {}),
      ...((c.get<string>('bankRegion') ?? '').trim() ? { region: (c.get<string>('bankRegion') ?? '').trim() } : {}),
      ...((c.get<string>('bankReplica') ?? '').trim() ? { replica: (c.get<string>('bankReplica') ?? '').trim() } : {}),
    },
  };
}

export function engineSettings(s: Settings): EngineSettings {
  return {
    maxFileBytes: s.maxFileSize,
    include: s.include,
    exclude: s.exclude,
    ask: askOptions(s),
  };
}

/** The memorize options the settings set (sent with every memorize, in this order). */
export function memorizeOptions(s: Settings): Pick<MemorizeOptions, 'include' | 'exclude' | 'maxFileBytes'> {
  return { include: s.include, exclude: s.exclude, maxFileBytes: s.maxFileSize };
}

/** The ask options the settings set; what they leave empty is left out, so the pack's defaults apply. */
export function askOptions(s: Settings): AskRequestOptions {
  const o: AskRequestOptions = {};
  if (s.answerMode !== undefined) o.answerMode = s.answerMode;
  if (s.topK !== undefined) o.topK = s.topK;
  if (s.alpha !== undefined) o.alpha = s.alpha;
  if (s.maxAnswerTokens !== undefined) o.maxNewTokens = s.maxAnswerTokens;
  return o;
}

export function initializeParams(s: Settings): InitializeParams {
  return { packDir: s.packDir, bankUri: s.bankDir, device: s.device, settings: engineSettings(s), access: s.bankAccess };
}

/** Settings whose change needs the engine restarted (vs. ones read per request). */
export const RESTART_KEYS = ['cmtMemory.packPath', 'cmtMemory.device', 'cmtMemory.bankLocation', 'cmtMemory.bankReadOnly', 'cmtMemory.bankEndpoint', 'cmtMemory.bankRegion', 'cmtMemory.bankReplica'];
