import { Parser } from 'htmlparser2';
import type { Section } from './extract.js';

/** Elements whose content is never text (htmlparser2 reads script/style as raw text to their end tag). */
const SKIPPED = new Set(['script', 'style', 'noscript', 'template', 'title', 'svg']);

/** Elements that end a line. */
const BLOCKS = new Set([
  'address', 'article', 'aside', 'blockquote', 'br', 'dd', 'div', 'dl', 'dt', 'fieldset', 'figcaption', 'figure', 'footer',
  'form', 'header', 'hr', 'li', 'main', 'nav', 'ol', 'p', 'pre', 'section', 'table', 'tbody', 'thead', 'tr', 'ul',
]);

const HEADING = /^h[1-6]$/;

/**
 * HTML → sections split at h1–h6, each knowing its heading. One pass of htmlparser2's
 * streaming tokenizer: linear in the input whatever it holds. The regexes this
 * replaces (`<(script|style)[\s\S]*?<\/\1>`, `<h([1-6])…<\/h\1>`) were quadratic on
 * unclosed tags: 2 MB of `<script` held a pool thread for the whole job timeout.
 */
export function htmlSections(html: string): Section[] {
  const sections: Section[] = [];
  let heading: string | undefined;
  let text = '';
  let headingText: string | null = null; // non-null while inside a heading
  let headingTag = '';
  let skipDepth = 0;
  const flush = () => {
    const body = tidy(text);
    if (body) sections.push(heading ? { text: body, heading } : { text: body });
    text = '';
  };
  const parser = new Parser(
    {
      onopentag(name) {
        if (SKIPPED.has(name)) skipDepth++;
        else if (HEADING.test(name) && headingText === null) {
          flush();
          headingText = '';
          headingTag = name;
        } else if (BLOCKS.has(name)) text += '\n';
        else if (name === 'td' || name === 'th') text += ' ';
      },
      ontext(chunk) {
        if (skipDepth > 0) return;
        if (headingText !== null) headingText += chunk;
        else text += chunk;
      },
      onclosetag(name) {
        if (SKIPPED.has(name)) skipDepth = Math.max(0, skipDepth - 1);
        else if (headingText !== null && name === headingTag) {
          heading = tidy(headingText).replace(/\n/g, ' ') || undefined;
          headingText = null;
        } else if (BLOCKS.has(name)) text += '\n';
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.end(html);
  if (headingText !== null) text += headingText; // an unclosed heading is body text
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
