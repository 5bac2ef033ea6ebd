/** bench:ingest's inputs: a deterministic corpus of files and random unit vectors. */

/** Park–Miller PRNG: the corpus and the vectors are identical in every run. */
export function prng(seed: number): () => number {
  let s = seed % 2147483647 || 1;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

export const WORDS = (
  'harbour glacier orchard volcano lighthouse monastery vineyard observatory canyon railway committee ' +
  'quarterly figures schedule budget summary lantern copper keeper gate dawn river bridge market winter ' +
  'engine signal archive ledger meadow tower garden harvest voyage compass timber quarry festival'
).split(' ');
const GLUE = 'the a of to and in on for with by from after before while'.split(' ');

export interface CorpusFile {
  readonly name: string;
  readonly contentType: string;
  readonly bytes: Buffer;
}

/** File i: Markdown (headings, paragraphs) or plain text, ~2,500 tokens of pseudo-prose. */
export function corpusFile(i: number): CorpusFile {
  const rnd = prng(1_000 + i);
  const pick = (list: readonly string[]) => list[Math.floor(rnd() * list.length)]!;
  const sentence = () => {
    const n = 8 + Math.floor(rnd() * 12);
    const words = Array.from({ length: n }, (_, w) => (w % 3 === 1 ? pick(GLUE) : pick(WORDS)));
    return `${words[0]![0]!.toUpperCase()}${words.join(' ').slice(1)}.`;
  };
  const paragraphs = Array.from({ length: 24 }, () => Array.from({ length: 5 }, sentence).join(' '));
  if (i % 2 === 0) {
    const md = paragraphs.map((p, n) => `${n % 4 === 0 ? `## ${pick(WORDS)} ${n}\n\n` : ''}${p}\n`).join('\n');
    return { name: `bench-${i}.md`, contentType: 'text/markdown', bytes: Buffer.from(`# Report ${i}\n\n${md}`) };
  }
  return { name: `bench-${i}.txt`, contentType: 'text/plain', bytes: Buffer.from(paragraphs.join('\n\n')) };
}

/** A random direction in `dimensions`-d space (uniform on the unit sphere). */
export function unitVector(rnd: () => number, dimensions: number): Float32Array {
  const v = new Float32Array(dimensions);
  let norm = 0;
  for (let d = 0; d < dimensions; d++) {
    // Box–Muller: Gaussian components give directions uniform on the sphere.
    const g = Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());
    v[d] = g;
    norm += g * g;
  }
  norm = Math.sqrt(norm);
  for (let d = 0; d < dimensions; d++) v[d] = v[d]! / norm;
  return v;
}
