import { marked } from 'marked';
import { ErrorCode } from '../../errors.js';
import { ExtractError } from './ExtractError.js';
import type { FileKind } from './fileKind.js';
import { htmlSections } from './html.js';
import { checkPdfPageClaims } from './pdfGuard.js';
import { checkZipBomb } from './zipGuard.js';

export { ExtractError } from './ExtractError.js';
export { htmlSections } from './html.js';

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
  /** PDF pages, checked before any page is parsed. */
  readonly maxPages: number;
  /** DOCX: total uncompressed bytes of the archive's entries (declared and actual). @default 64 MiB */
  readonly maxInflatedBytes: number;
}

const PDF_MAGIC = '%PDF-';
const ZIP_MAGIC = 'PK\u0003\u0004';

/** Extracts text sections; runs in a pool thread. */
export async function extractSections(bytes: Uint8Array, kind: FileKind, name: string, limits: ExtractLimits): Promise<Section[]> {
  if (bytes.byteLength > limits.maxFileBytes) {
    throw new ExtractError(ErrorCode.FILE_TOO_LARGE, `${name} is ${bytes.byteLength} bytes; the limit is ${limits.maxFileBytes}`);
  }
  const head = Buffer.from(bytes.subarray(0, 8)).toString('latin1');
  switch (kind) {
    case 'pdf':
      if (!head.startsWith(PDF_MAGIC)) throw mislabelled(name, 'a PDF', head);
      return extractPdf(bytes, name, limits.maxPages);
    case 'docx':
      if (!head.startsWith(ZIP_MAGIC)) throw mislabelled(name, 'a DOCX (zip) document', head);
      return extractDocx(bytes, name, limits.maxInflatedBytes);
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
  return new ExtractError(ErrorCode.FILE_CORRUPT, `${name} is labelled as ${expected} but its bytes are not${actually}`);
}

/** Text kinds must be UTF-8 without NULs: a binary file sent as text is refused, not indexed as garbage. */
function decodeText(bytes: Uint8Array, name: string, kind: FileKind, head: string): string {
  if (head.startsWith(PDF_MAGIC) || head.startsWith(ZIP_MAGIC)) throw mislabelled(name, kind, head);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ExtractError(ErrorCode.FILE_CORRUPT, `${name} is labelled as ${kind} but is not valid UTF-8 text`);
  }
  if (text.includes('\u0000')) throw new ExtractError(ErrorCode.FILE_CORRUPT, `${name} is labelled as ${kind} but contains binary data`);
  return text.replace(/^\uFEFF/, '');
}

async function extractPdf(bytes: Uint8Array, name: string, maxPages: number): Promise<Section[]> {
  checkPdfPageClaims(bytes, name, maxPages);
  const { extractText, getDocumentProxy } = await import('unpdf'); // pdf.js: loaded by the threads that read PDFs, on first use
  let pdf;
  try {
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 }); // a copy: pdfjs detaches the buffer it is given
  } catch (err) {
    throw new ExtractError(ErrorCode.FILE_CORRUPT, `${name} is not a readable PDF: ${(err as Error).message}`);
  }
  try {
    // numPages is the page tree's /Count: known before any page is parsed, so an absurd
    // count (real or claimed) is refused without walking the pages.
    if (pdf.numPages > maxPages) {
      throw new ExtractError(ErrorCode.FILE_TOO_LARGE, `${name} has ${pdf.numPages} pages; the limit is ${maxPages}`);
    }
    let pages: string[];
    try {
      pages = (await extractText(pdf, { mergePages: false })).text;
    } catch (err) {
      throw new ExtractError(ErrorCode.FILE_CORRUPT, `${name}: PDF text could not be extracted: ${(err as Error).message}`);
    }
    return pages.map((text, i) => ({ text, page: i + 1 })).filter((s) => s.text.trim().length > 0);
  } finally {
    await pdf.destroy().catch(() => {});
  }
}

async function extractDocx(bytes: Uint8Array, name: string, maxInflatedBytes: number): Promise<Section[]> {
  await checkZipBomb(bytes, name, maxInflatedBytes);
  const { default: mammoth } = await import('mammoth'); // on first use, like pdf.js
  // Images are dropped unread: mammoth would otherwise inflate each one into a base64 data URI.
  const noImages = mammoth.images.imgElement(() => Promise.resolve({ src: '' }));
  let html: string;
  try {
    html = (await mammoth.convertToHtml({ buffer: Buffer.from(bytes) }, { convertImage: noImages })).value;
  } catch (err) {
    throw new ExtractError(ErrorCode.FILE_CORRUPT, `${name} is not a readable DOCX document: ${(err as Error).message}`);
  }
  return htmlSections(html);
}

/** Markdown: split at headings (marked's lexer), each section rendered to plain text. */
export function markdownSections(md: string): Section[] {
  const sections: Section[] = [];
  let current: string | undefined;
  let raw = '';
  const flush = () => {
    const text = htmlSections(marked.parse(raw, { async: false }) as string).map((s) => s.text).join('\n');
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
