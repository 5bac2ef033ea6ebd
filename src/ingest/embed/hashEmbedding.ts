/**
 * The `hash` provider: a deterministic LEXICAL embedding (feature hashing of words
 * and word bigrams, signed, sublinear tf, L2-normalised). No model, no network:
 * identical words score high, synonyms do not. For tests and benchmarks — named
 * as such so nobody mistakes it for semantic search.
 */
export const HASH_DIMENSIONS = 512;

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function hashEmbedding(text: string, dimensions = HASH_DIMENSIONS): Float32Array {
  const vector = new Float32Array(dimensions);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const counts = new Map<string, number>();
  for (let i = 0; i < words.length; i++) {
    counts.set(words[i]!, (counts.get(words[i]!) ?? 0) + 1);
    if (i > 0) counts.set(`${words[i - 1]} ${words[i]}`, (counts.get(`${words[i - 1]} ${words[i]}`) ?? 0) + 1);
  }
  for (const [feature, count] of counts) {
    const h = fnv1a(feature);
    vector[h % dimensions]! += (h & 0x80000000 ? -1 : 1) * (1 + Math.log(count));
  }
  let norm = 0;
  for (const v of vector) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < dimensions; i++) vector[i]! /= norm;
  return vector;
}
