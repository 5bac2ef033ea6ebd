import { crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';
import { PDFDocument, PDFName, PDFNumber, PDFDict, StandardFonts } from 'pdf-lib';
import { TYPES, type TestFile } from './files.js';

/** One zip entry as written: its deflated bytes and what the headers will claim. */
interface Entry {
  readonly name: string;
  readonly deflated: Uint8Array;
  readonly crc: number;
  /** What the headers declare (a bomb may lie). */
  readonly declaredSize: number;
}

/** A minimal zip writer (deflate entries), so tests can craft archives whose headers lie. */
export function zip(entries: readonly Entry[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt32LE(e.crc >>> 0, 14);
    local.writeUInt32LE(e.deflated.byteLength, 18);
    local.writeUInt32LE(e.declaredSize, 22);
    local.writeUInt16LE(name.byteLength, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(e.crc >>> 0, 16);
    central.writeUInt32LE(e.deflated.byteLength, 20);
    central.writeUInt32LE(e.declaredSize, 24);
    central.writeUInt16LE(name.byteLength, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, Buffer.from(e.deflated));
    centrals.push(central, name);
    offset += 30 + name.byteLength + e.deflated.byteLength;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.byteLength, 12);
  eocd.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, cd, eocd]));
}

function entry(name: string, text: string): Entry {
  const bytes = Buffer.from(text, 'utf8');
  return { name, deflated: deflateRawSync(bytes), crc: crc32(bytes), declaredSize: bytes.byteLength };
}

const CONTENT_TYPES =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
  '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>' +
  '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>';
const RELS =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
  '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>';
const DOC_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>';
const DOC_TAIL = '</w:body></w:document>';

/** word/document.xml of `inflatedBytes` (about), deflated as a stream: the XML itself never exists in memory. */
async function hugeDocumentXml(inflatedBytes: number): Promise<{ deflated: Uint8Array; crc: number; size: number }> {
  const paragraph = Buffer.from(`<w:p><w:r><w:t>${'lorem ipsum '.repeat(80)}</w:t></w:r></w:p>`);
  const block = Buffer.concat(Array.from({ length: Math.ceil((1 << 20) / paragraph.byteLength) }, () => paragraph));
  const deflate = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve, reject) => deflate.on('end', resolve).on('error', reject));
  let crc = 0;
  let size = 0;
  const write = async (b: Buffer) => {
    crc = crc32(b, crc);
    size += b.byteLength;
    if (!deflate.write(b)) await new Promise((r) => deflate.once('drain', r));
  };
  await write(Buffer.from(DOC_HEAD));
  while (size < inflatedBytes) await write(block);
  await write(Buffer.from(DOC_TAIL));
  deflate.end();
  await done;
  return { deflated: Buffer.concat(out), crc, size };
}

/**
 * A DOCX whose document.xml inflates to ~`inflatedBytes` (issue 13: 0.9 MB → 300 MiB).
 * `lie`: the headers declare 4 KiB for it, so only counting while inflating catches it.
 */
export async function docxBomb(inflatedBytes: number, options: { lie?: boolean; name?: string } = {}): Promise<TestFile> {
  const xml = await hugeDocumentXml(inflatedBytes);
  const bytes = zip([
    entry('[Content_Types].xml', CONTENT_TYPES),
    entry('_rels/.rels', RELS),
    { name: 'word/document.xml', deflated: xml.deflated, crc: xml.crc, declaredSize: options.lie ? 4096 : xml.size },
  ]);
  return { name: options.name ?? 'bomb.docx', contentType: TYPES.docx, bytes };
}

/** A small, valid DOCX written by the same zip writer (the guard must let it through). */
export function plainDocx(text: string, name = 'plain.docx'): TestFile {
  const bytes = zip([
    entry('[Content_Types].xml', CONTENT_TYPES),
    entry('_rels/.rels', RELS),
    entry('word/document.xml', `${DOC_HEAD}<w:p><w:r><w:t>${text}</w:t></w:r></w:p>${DOC_TAIL}`),
  ]);
  return { name, contentType: TYPES.docx, bytes };
}

/** A one-page PDF whose page tree claims `claimedPages` pages (a valid file otherwise). */
export async function pdfClaimingPages(claimedPages: number): Promise<TestFile> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  pdf.addPage([612, 792]).drawText('a page of an absurdly long document', { x: 40, y: 700, size: 10, font });
  pdf.catalog.lookup(PDFName.of('Pages'), PDFDict).set(PDFName.of('Count'), PDFNumber.of(claimedPages));
  return { name: 'absurd.pdf', contentType: TYPES.pdf, bytes: await pdf.save({ useObjectStreams: false }) };
}

/** 2 MB of HTML that the old regexes took quadratic time on (unclosed tags). */
export function pathologicalHtml(kind: 'script' | 'heading', bytes = 2 * 1024 * 1024): TestFile {
  const unit = kind === 'script' ? '<script' : '<h1>x';
  return { name: `patho-${kind}.html`, contentType: TYPES.html, bytes: Buffer.from(unit.repeat(Math.ceil(bytes / unit.length))) };
}
