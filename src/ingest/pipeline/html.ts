import { Tokenizer } from 'htmlparser2';
import type { Section } from './extract.js';

/** Elements whose content is never text (the tokenizer reads script/style/title as raw text to their end tag). */
const SKIPPED = new Set(['script', 'style', 'noscript', 'template', 'title', 'svg']);

/** Elements that end a line. */
const BLOCKS = new Set([
  'address', 'article', 'aside', 'blockquote', 'br', 'dd', 'div', 'dl', 'dt', 'fieldset', 'figcaption', 'figure', 'footer',
  'form', 'header', 'hr', 'li', 'main', 'nav', 'ol', 'p', 'pre', 'section', 'table', 'tbody', 'thead', 'tr', 'ul',
]);

const HEADING = /^h[1-6]$/;

/**
 * HTML → sections split at h1–h6, each knowing its heading. One pass of htmlparser2's
 * tokenizer, keeping no element stack: linear in the input whatever it holds. The
 * regexes this replaces (`<(script|style)[\s\S]*?<\/\1>`, `<h([1-6])…<\/h\1>`) were
 * quadratic on unclosed tags — 2 MB of `<script` held a pool thread for the whole job
 * timeout — and htmlparser2's own Parser is too: it `unshift`s every unclosed element
 * onto its stack (2 MB of `<h1>x` took 108 s).
 */
export function htmlSections(html: string): Section[] {
  const sections: Section[] = [];
  let heading: string | undefined;
  let body: string[] = [];
  let headingText: string[] | null = null; // non-null while inside a heading
  let headingTag = '';
  let skipDepth = 0;
  let skipTag = '';
  const flush = () => {
    const text = tidy(body.join(''));
    if (text) sections.push(heading ? { text, heading } : { text });
    body = [];
  };
  const emit = (text: string) => {
    if (skipDepth > 0) return;
    (headingText ?? body).push(text);
  };
  const open = (name: string) => {
    if (skipDepth > 0) {
      if (name === skipTag) skipDepth++;
    } else if (SKIPPED.has(name)) {
      skipDepth = 1;
      skipTag = name;
    } else if (HEADING.test(name) && headingText === null) {
      flush();
      headingText = [];
      headingTag = name;
    } else if (BLOCKS.has(name)) emit('\n');
    else if (name === 'td' || name === 'th') emit(' ');
  };
  const close = (name: string) => {
    if (skipDepth > 0) {
      if (name === skipTag) skipDepth--;
    } else if (headingText !== null && name === headingTag) {
      heading = tidy(headingText.join('')).replace(/\n/g, ' ') || undefined;
      headingText = null;
    } else if (BLOCKS.has(name)) emit('\n');
  };
  let tagName = '';
  const tokenizer = new Tokenizer(
    { xmlMode: false, decodeEntities: true },
    {
      ontext: (start, end) => emit(html.slice(start, end)),
      ontextentity: (codepoint) => emit(String.fromCodePoint(codepoint)),
      onopentagname: (start, end) => {
        tagName = html.slice(start, end).toLowerCase();
      },
      onopentagend: () => open(tagName),
      onselfclosingtag: () => {
        open(tagName);
        close(tagName);
      },
      onclosetag: (start, end) => close(html.slice(start, end).toLowerCase()),
      onattribdata: () => {},
      onattribentity: () => {},
      onattribend: () => {},
      onattribname: () => {},
      oncdata: () => {},
      oncomment: () => {},
      ondeclaration: () => {},
      onprocessinginstruction: () => {},
      onend: () => {},
    },
  );
  tokenizer.write(html);
  tokenizer.end();
  if (headingText !== null) body.push((headingText as string[]).join('')); // an unclosed heading is body text
  flush();
  return sections;
}

/** Collapses runs of blanks within lines and blank lines (linear regexes only). */
function tidy(raw: string): string {
  return raw
    .replace(/[ \t\f\r\u00a0]+/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .join('\n');
}
