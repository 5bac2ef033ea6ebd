import * as Y from 'yjs';

/**
 * The plain text of a document's text roots, for `GET /api/docs/<id>`. A root
 * decoded from an update has no type yet; its first item tells what it was: string
 * content → Y.Text, typed content → Y.XmlFragment (its text nodes, tags dropped).
 * Map and array roots are not text and are left out.
 */
export function rootTexts(doc: Y.Doc): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, type] of doc.share) {
    if (type instanceof Y.Text) {
      out[name] = type.toString();
      continue;
    }
    if (type instanceof Y.XmlFragment) {
      out[name] = xmlText(type);
      continue;
    }
    if (type._map.size > 0) continue; // a map root
    let item = type._start;
    while (item && item.deleted) item = item.right;
    if (!item) {
      out[name] = '';
      continue;
    }
    const content = item.content;
    if (content instanceof Y.ContentString || content instanceof Y.ContentFormat || content instanceof Y.ContentEmbed) out[name] = doc.getText(name).toString();
    else if (content instanceof Y.ContentType) out[name] = xmlText(doc.getXmlFragment(name));
  }
  return out;
}

function xmlText(fragment: Y.XmlFragment | Y.XmlElement): string {
  const parts: string[] = [];
  for (const child of fragment.toArray()) {
    if (child instanceof Y.XmlText) parts.push(child.toString().replace(/<[^>]*>/g, ''));
    else if (child instanceof Y.XmlElement) parts.push(xmlText(child));
  }
  return parts.join(fragment instanceof Y.XmlFragment && !(fragment instanceof Y.XmlElement) ? '\n' : '');
}
