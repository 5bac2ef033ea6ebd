import { encode } from 'gpt-tokenizer';
import type { Section } from './extract.js';

export interface ChunkOptions {
  /** Most tokens in one chunk (cl100k/o200k tokens from gpt-tokenizer). @default 256 */
  readonly chunkTokens: number;
  /** Tokens repeated from the end of the previous chunk. @default 32 */
  readonly overlapTokens: number;
}

export interface TextChunk {
  readonly text: string;
  readonly metadata: { page?: number; heading?: string; section: number };
}

const SEPARATORS = ['\n\n', '\n', '. ', ' ', ''];

export const tokenLength = (text: string): number => encode(text).length;

/**
 * Recursive character splitting with token lengths: split on the coarsest
 * separator that occurs, recurse into pieces still too long, then merge pieces
 * back into chunks of at most `chunkTokens`, carrying `overlapTokens` over.
 */
export function splitText(text: string, options: ChunkOptions, separators: readonly string[] = SEPARATORS): string[] {
  const sep = separators.find((s) => s === '' || text.includes(s)) ?? '';
  const rest = separators.slice(separators.indexOf(sep) + 1);
  const pieces = sep === '' ? [...text] : splitKeeping(text, sep);
  const out: string[] = [];
  let buffer: Array<{ text: string; tokens: number }> = [];
  let total = 0;
  const emit = () => {
    const joined = buffer.map((p) => p.text).join('').trim();
    if (joined) out.push(joined);
  };
  for (const piece of pieces) {
    const tokens = tokenLength(piece);
    if (tokens > options.chunkTokens) {
      if (buffer.length) emit();
      buffer = [];
      total = 0;
      out.push(...(rest.length ? splitText(piece, options, rest) : [piece.trim()]).filter(Boolean));
      continue;
    }
    if (total + tokens > options.chunkTokens && buffer.length) {
      emit();
      while (buffer.length && (total > options.overlapTokens || total + tokens > options.chunkTokens)) {
        total -= buffer.shift()!.tokens;
      }
    }
    buffer.push({ text: piece, tokens });
    total += tokens;
  }
  if (buffer.length) emit();
  return out;
}

/** Text split at `sep`, each piece keeping its trailing separator (so joins restore the text). */
function splitKeeping(text: string, sep: string): string[] {
  const parts = text.split(sep);
  return parts.map((p, i) => (i < parts.length - 1 ? p + sep : p)).filter((p) => p.length > 0);
}

/** Chunks every section separately so page and heading metadata stay exact. */
export function chunkSections(sections: readonly Section[], options: ChunkOptions): TextChunk[] {
  const chunks: TextChunk[] = [];
  sections.forEach((section, index) => {
    for (const text of splitText(section.text, options)) {
      const metadata: TextChunk['metadata'] = { section: index };
      if (section.page !== undefined) metadata.page = section.page;
      if (section.heading !== undefined) metadata.heading = section.heading;
      chunks.push({ text, metadata });
    }
  });
  return chunks;
}
