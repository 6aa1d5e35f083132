// The MCP tools' input and output schemas (zod; advertised as JSON Schema by tools/list), and the
// sentence a rejected input gets. tools.ts says what each tool does with them.
import { z } from 'zod';
import { MAX_SEARCH_K } from '../core/types';

const MAX_TEXT = 10_000;
const MAX_PATHS = 100;
const MAX_PATH_CHARS = 4096;

const text = (what: string) =>
  z
    .string()
    .max(MAX_TEXT, `${what} must be at most ${MAX_TEXT} characters`)
    .refine((s) => s.trim() !== '', `${what} must not be empty`);

const pathString = z
  .string()
  .min(1, 'a path must not be empty')
  .max(MAX_PATH_CHARS, `a path must be at most ${MAX_PATH_CHARS} characters`)
  .refine((s) => !s.includes('\0'), 'a path must not contain NUL characters');

export const searchInput = z
  .object({
    query: text('query').describe('What to look for, in plain words or names from the code (e.g. "where is the retry count configured?").'),
    k: z
      .number()
      .int('k must be a whole number')
      .min(1, 'k must be at least 1')
      .max(MAX_SEARCH_K, `k must be at most ${MAX_SEARCH_K}`)
      .optional()
      .describe(`How many chunks to return (1-${MAX_SEARCH_K}; default: the model pack's top-K, the chunks ask_memory would cite).`),
  })
  .strict();

const hit = z.object({
  path: z.string().describe('Workspace-relative path, forward slashes'),
  startLine: z.number().int(),
  endLine: z.number().int(),
  score: z.number().describe('Fused retrieval score (higher is better; the hits are in the retrieval order, which puts a confident full-text hit first)'),
  text: z.string(),
  symbol: z.string().optional().describe('The enclosing definition or section'),
});

export const searchOutput = z.object({
  query: z.string(),
  hits: z.array(hit),
  matchMs: z.number(),
});

export const askInput = z
  .object({
    question: text('question').describe('A question about the memorized files (e.g. "What port does billing listen on?").'),
  })
  .strict();

const quote = z.object({ path: z.string(), line: z.number().int(), text: z.string(), citation: z.number().int() });
const citation = z.object({ path: z.string(), startLine: z.number().int(), endLine: z.number().int(), score: z.number(), excerpt: z.string() });

export const askOutput = z.object({
  question: z.string(),
  answer: z.string(),
  noAnswer: z.boolean().describe('The model produced no usable answer: read the quoted lines instead'),
  grounding: z.object({
    verdict: z.enum(['found', 'not-sure']),
    reason: z.string(),
    message: z.string(),
    quotes: z.array(quote),
  }),
  citations: z.array(citation),
});

export const memorizeInput = z
  .object({
    paths: z
      .array(pathString)
      .min(1, 'give at least one path')
      .max(MAX_PATHS, `at most ${MAX_PATHS} paths per call`)
      .describe('Files or folders inside the workspace root, relative to it (or absolute inside it). ["."] memorizes the whole root.'),
    force: z.boolean().optional().describe('Re-compress files even when unchanged (default false).'),
  })
  .strict();

const issue = z.object({ path: z.string(), reason: z.string(), code: z.string().optional() });

export const memorizeOutput = z.object({
  memorized: z.number().int(),
  unchanged: z.number().int(),
  skipped: z.array(issue),
  failed: z.array(issue),
  chunks: z.number().int(),
  removed: z.number().int(),
  elapsedMs: z.number(),
});

export const forgetInput = z
  .object({
    path: pathString.describe('A file or folder inside the workspace root (relative to it, or absolute inside it) whose memories to remove.'),
  })
  .strict();

export const forgetOutput = z.object({ path: z.string(), removed: z.number().int() });

export const statusInput = z.object({}).strict();

export const statusOutput = z.object({
  root: z.string(),
  packId: z.string(),
  packName: z.string(),
  provider: z.string(),
  memories: z.number().int(),
  files: z.number().int(),
  bytesOnDisk: z.number(),
  bankUri: z.string(),
});

/** zod issues -> one sentence: "k: k must be at most 50; query: Required". */
export function describeIssues(toolName: string, err: z.ZodError): string {
  const parts = err.issues.map((i) => {
    const where = i.path.length ? i.path.join('.') : 'arguments';
    if (i.code === 'unrecognized_keys') return `${where}: unknown field(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    return `${where}: ${i.message}`;
  });
  return `invalid arguments for ${toolName}: ${parts.join('; ')}`;
}

/** The tool's JSON Schema (what tools/list advertises), without the $schema key. */
export function jsonSchemaOf(schema: z.ZodObject, io: 'input' | 'output'): { type: 'object'; [k: string]: unknown } {
  const js = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete js.$schema;
  return { ...js, type: 'object' };
}
