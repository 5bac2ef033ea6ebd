/** The file types ingestion understands. */
export type FileKind = 'pdf' | 'docx' | 'html' | 'markdown' | 'text';

const BY_TYPE: Record<string, FileKind> = {
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/plain': 'text',
};

const BY_EXT: Record<string, FileKind> = {
  pdf: 'pdf',
  docx: 'docx',
  html: 'html',
  htm: 'html',
  md: 'markdown',
  markdown: 'markdown',
  txt: 'text',
  text: 'text',
};

/**
 * The declared kind: the Content-Type when it names one we know, else the file
 * extension. Null = unsupported. The bytes are checked against it later
 * (a mislabelled file fails permanently).
 */
export function detectKind(name: string, contentType: string): FileKind | null {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (BY_TYPE[type]) return BY_TYPE[type]!;
  const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  return ext ? (BY_EXT[ext] ?? null) : null;
}
