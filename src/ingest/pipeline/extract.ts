import { convert } from 'html-to-text';
import mammoth from 'mammoth';
import { marked } from 'marked';
import { extractText, getDocumentProxy } from 'unpdf';
import type { FileKind } from './fileKind.js';

/** A run of text with where it came from. */
export interface Section {
  readonly text: string;
  /** 1-based PDF page. */
  readonly page?: number;
  /** Nearest heading above (Markdown, HTML, DOCX). */
  readonly heading?: string;
}

export interface ExtractLimits {
  /** @default 50 MiB */
  readonly maxFileBytes: number;
  /** PDF pages. */
  readonly maxPages: number;
}

/** Why extraction refused a file: always permanent (the same bytes fail the same way). */
export class ExtractError extends Error {
  constructor(readonly code: 'SWY_FILE_CORRUPT' | 'SWY_FILE_TOO_LARGE' | 'SWY_FILE_UNSUPPORTED', message: string) {
    super(message);
  }
}

const PDF_MAGIC = '%PDF-';
const ZIP_MAGIC = 'PK\u0003\u0004';

/** Extracts text sections; runs in a pool thread. */
export async function extractSections(bytes: Uint8Array, kind: FileKind, name: string, limits: ExtractLimits): Promise<Section[]> {
  if (bytes.byteLength > limits.maxFileBytes) {
    throw new ExtractError('SWY_FILE_TOO_LARGE', `${name} is ${bytes.byteLength} bytes; the limit is ${limits.maxFileBytes}`);
  }
  const head = Buffer.from(bytes.subarray(0, 8)).toString('latin1');
  switch (kind) {
    case 'pdf':
      if (!head.startsWith(PDF_MAGIC)) throw mislabelled(name, 'a PDF', head);
      return extractPdf(bytes, name, limits.maxPages);
    case 'docx':
      if (!head.startsWith(ZIP_MAGIC)) throw mislabelled(name, 'a DOCX (zip) document', head);
      return extractDocx(bytes, name);
    default: {
      const text = decodeText(bytes, name, kind, head);
      if (kind === 'html') return htmlSections(text);
      if (kind === 'markdown') return markdownSections(text);
      return [{ text }];
    }
  }
}

function mislabelled(name: string, expected: string, head: string): ExtractError {
  const actually = head.startsWith(PDF_MAGIC) ? ' (it is a PDF)' : head.startsWith(ZIP_MAGIC) ? ' (it is a zip/DOCX)' : '';
  return new ExtractError('SWY_FILE_CORRUPT', `${name} is labelled as ${expected} but its bytes are not${actually}`);
}

/** Text kinds must be UTF-8 without NULs: a binary file sent as text is refused, not indexed as garbage. */
function decodeText(bytes: Uint8Array, name: string, kind: FileKind, head: string): string {
  if (head.startsWith(PDF_MAGIC) || head.startsWith(ZIP_MAGIC)) throw mislabelled(name, kind, head);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ExtractError('SWY_FILE_CORRUPT', `${name} is labelled as ${kind} but is not valid UTF-8 text`);
  }
  if (text.includes('\u0000')) throw new ExtractError('SWY_FILE_CORRUPT', `${name} is labelled as ${kind} but contains binary data`);
  return text.replace(/^\uFEFF/, '');
}

async function extractPdf(bytes: Uint8Array, name: string, maxPages: number): Promise<Section[]> {
  let pdf;
  try {
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 }); // a copy: pdfjs detaches the buffer it is given
  } catch (err) {
    throw new ExtractError('SWY_FILE_CORRUPT', `${name} is not a readable PDF: ${(err as Error).message}`);
  }
  try {
    if (pdf.numPages > maxPages) {
      throw new ExtractError('SWY_FILE_TOO_LARGE', `${name} has ${pdf.numPages} pages; the limit is ${maxPages}`);
    }
    let pages: string[];
    try {
      pages = (await extractText(pdf, { mergePages: false })).text;
    } catch (err) {
      throw new ExtractError('SWY_FILE_CORRUPT', `${name}: PDF text could not be extracted: ${(err as Error).message}`);
    }
    return pages.map((text, i) => ({ text, page: i + 1 })).filter((s) => s.text.trim().length > 0);
  } finally {
    await pdf.destroy().catch(() => {});
  }
}

async function extractDocx(bytes: Uint8Array, name: string): Promise<Section[]> {
  let html: string;
  try {
    html = (await mammoth.convertToHtml({ buffer: Buffer.from(bytes) })).value;
  } catch (err) {
    throw new ExtractError('SWY_FILE_CORRUPT', `${name} is not a readable DOCX document: ${(err as Error).message}`);
  }
  return htmlSections(html);
}

const HTML_OPTIONS = {
  wordwrap: false as const,
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'table', format: 'dataTable' },
  ],
};

/** Splits at h1–h6 so each section knows its heading. */
export function htmlSections(html: string): Section[] {
  const body = html.replace(/<(script|style)[\s\S]*?<\/\1>/gi, '');
  const heading = /<h([1-6])[^>]*>([\s\S]*?)<\/h\1>/gi;
  const sections: Section[] = [];
  let last = 0;
  let current: string | undefined;
  const push = (fragment: string) => {
    const text = convert(fragment, HTML_OPTIONS).trim();
    if (text) sections.push(current ? { text, heading: current } : { text });
  };
  for (let m = heading.exec(body); m; m = heading.exec(body)) {
    push(body.slice(last, m.index));
    current = convert(m[2]!, HTML_OPTIONS).trim() || undefined;
    last = m.index + m[0].length;
  }
  push(body.slice(last));
  return sections;
}

/** Markdown: split at headings (marked's lexer), each section rendered to plain text. */
export function markdownSections(md: string): Section[] {
  const sections: Section[] = [];
  let current: string | undefined;
  let raw = '';
  const flush = () => {
    const text = convert(marked.parse(raw, { async: false }) as string, HTML_OPTIONS).trim();
    if (text) sections.push(current ? { text, heading: current } : { text });
    raw = '';
  };
  for (const token of marked.lexer(md)) {
    if (token.type === 'heading') {
      flush();
      current = (token as { text: string }).text.trim();
    } else {
      raw += token.raw;
    }
  }
  flush();
  return sections;
}
