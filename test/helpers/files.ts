import { Document, HeadingLevel, Packer, Paragraph } from 'docx';
import { PDFDocument, StandardFonts } from 'pdf-lib';

/** Real files made by the tests (no fixtures checked in), one generator per type. */
export interface TestFile {
  readonly name: string;
  readonly contentType: string;
  readonly bytes: Uint8Array;
}

export const TYPES = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  html: 'text/html',
  md: 'text/markdown',
  txt: 'text/plain',
} as const;

function wrap(text: string, width = 90): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** A PDF with one page per entry (ASCII text: the standard fonts are WinAnsi). */
export async function makePdf(pages: readonly string[]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const text of pages) {
    const page = pdf.addPage([612, 792]);
    let y = 750;
    for (const line of wrap(text)) {
      page.drawText(line, { x: 40, y, size: 10, font });
      y -= 14;
      if (y < 40) break;
    }
  }
  return pdf.save();
}

export async function makeDocx(sections: ReadonlyArray<{ heading: string; text: string }>): Promise<Uint8Array> {
  const doc = new Document({
    sections: [
      {
        children: sections.flatMap((s) => [new Paragraph({ text: s.heading, heading: HeadingLevel.HEADING_1 }), new Paragraph({ text: s.text })]),
      },
    ],
  });
  return new Uint8Array(await Packer.toBuffer(doc));
}

export function makeHtml(sections: ReadonlyArray<{ heading: string; text: string }>): Uint8Array {
  const body = sections.map((s) => `<h2>${s.heading}</h2>\n<p>${s.text}</p>`).join('\n');
  return Buffer.from(`<!doctype html><html><head><title>t</title><style>p{}</style></head><body>${body}</body></html>`);
}

export function makeMarkdown(sections: ReadonlyArray<{ heading: string; text: string }>): Uint8Array {
  return Buffer.from(sections.map((s) => `## ${s.heading}\n\n${s.text}\n`).join('\n'));
}

const TOPICS = ['harbour', 'glacier', 'orchard', 'volcano', 'lighthouse', 'monastery', 'vineyard', 'observatory', 'canyon', 'railway'];
const FILLER =
  'The committee reviewed the quarterly figures and agreed to revisit the schedule after the holidays. ' +
  'Several members asked for more detail on the budget lines, and the chair promised a written summary. ';

/** A distinctive sentence for file `i` (what a retrieval query looks for). */
export function sentenceFor(i: number): string {
  const t = TOPICS[i % TOPICS.length]!;
  return `The ${t} keeper number ${i} counted ${100 + i} copper lanterns beside the ${t} gate at dawn.`;
}

/** Filler paragraphs so a file has several chunks; the distinctive sentence sits in one of them. */
export function bodyFor(i: number, paragraphs = 6): string[] {
  const out = Array.from({ length: paragraphs }, (_, p) => `${FILLER}Paragraph ${p} of document ${i}. ${FILLER}`);
  out[Math.min(2, paragraphs - 1)] = `${out[Math.min(2, paragraphs - 1)]} ${sentenceFor(i)}`;
  return out;
}

/** File `i` of a mixed corpus, cycling through the five types. */
export async function corpusFile(i: number, paragraphs = 6): Promise<TestFile> {
  const body = bodyFor(i, paragraphs);
  const sections = body.map((text, p) => ({ heading: `Section ${p}`, text }));
  switch (i % 5) {
    case 0:
      return { name: `doc-${i}.pdf`, contentType: TYPES.pdf, bytes: await makePdf(body) };
    case 1:
      return { name: `doc-${i}.docx`, contentType: TYPES.docx, bytes: await makeDocx(sections) };
    case 2:
      return { name: `doc-${i}.html`, contentType: TYPES.html, bytes: makeHtml(sections) };
    case 3:
      return { name: `doc-${i}.md`, contentType: TYPES.md, bytes: makeMarkdown(sections) };
    default:
      return { name: `doc-${i}.txt`, contentType: TYPES.txt, bytes: Buffer.from(body.join('\n\n')) };
  }
}

/** Bytes that claim to be a PDF and are not one past the header. */
export function corruptPdf(): TestFile {
  return { name: 'broken.pdf', contentType: TYPES.pdf, bytes: Buffer.from('%PDF-1.7\n%garbage that is not a PDF body\n1 0 obj <<< broken') };
}
