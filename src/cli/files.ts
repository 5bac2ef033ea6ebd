import { readdirSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';

/** Extensions the server extracts (SPEC §1: PDF, DOCX, HTML, Markdown, text) and the type sent with each. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.pdf': 'application/pdf',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.html': 'text/html',
  '.htm': 'text/html',
  '.md': 'text/markdown',
  '.markdown': 'text/markdown',
  '.txt': 'text/plain',
};

export interface LocalFile {
  /** Path relative to the ingested folder, `/`-separated: the name sent to the server. */
  readonly name: string;
  readonly path: string;
  readonly contentType: string;
  readonly sizeBytes: number;
}

/** Every supported file under `dir` (recursively, sorted; dot-files and dot-folders skipped). */
export function listSupported(dir: string): { files: LocalFile[]; skipped: string[] } {
  const files: LocalFile[] = [];
  const skipped: string[] = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const name = relative(dir, path).split('\\').join('/');
        const contentType = CONTENT_TYPES[extname(entry.name).toLowerCase()];
        if (contentType) files.push({ name, path, contentType, sizeBytes: statSync(path).size });
        else skipped.push(name);
      }
    }
  };
  walk(dir);
  return { files, skipped };
}
