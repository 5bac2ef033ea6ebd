/**
 * Makes a caller-chosen id safe to embed in a key or lock name: base64url has no
 * `:` (nor `{`/`}`), so no two ids can meet. Document ids may contain `:`, and with
 * the raw id `doc-persist:v1:fence` (document `v1:fence`'s lock) was document `v1`'s
 * fence counter: editing one document kept the other from ever being saved.
 */
export function keySafe(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}
