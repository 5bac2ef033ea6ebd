import { ErrorCode } from '../../errors.js';
import { ExtractError } from './ExtractError.js';

/** How far from a page-tree node's `/Type /Pages` its `/Count` may sit (one dictionary). */
const WINDOW = 512;

/**
 * Refuses a PDF whose page tree claims more than `maxPages` pages before pdf.js reads
 * it: when the claimed count and the real tree disagree, pdf.js walks the whole tree to
 * count the pages, and a real page count is only known once it has. One linear scan of
 * the plain-text page-tree nodes; trees hidden in compressed object streams are caught
 * later by the page count pdf.js reports (before any page is parsed), the extraction
 * deadline and the thread's memory limit.
 */
export function checkPdfPageClaims(bytes: Uint8Array, name: string, maxPages: number): void {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const pagesNode = /\/Type\s*\/Pages\b/g;
  const count = /\/Count\s+(\d{1,15})/g;
  let scannedTo = 0; // windows never overlap: the scan stays linear however many nodes there are
  for (let m = pagesNode.exec(text); m; m = pagesNode.exec(text)) {
    const from = Math.max(scannedTo, m.index - WINDOW);
    scannedTo = Math.max(from, m.index + WINDOW);
    const around = text.slice(from, scannedTo);
    count.lastIndex = 0;
    for (let c = count.exec(around); c; c = count.exec(around)) {
      const claimed = Number(c[1]);
      if (claimed > maxPages) {
        throw new ExtractError(ErrorCode.FILE_TOO_LARGE, `${name} claims ${claimed} pages; the limit is ${maxPages} (ingest.maxPages)`);
      }
    }
  }
}
