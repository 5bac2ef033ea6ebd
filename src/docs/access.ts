import type { Principal } from '../auth/tokens.js';
import type { DocumentAccess, DocumentRecord } from '../storage/ports.js';

/** `"*"` in an access list: any signed-in user. */
export const ANYONE = '*';

const listed = (list: readonly string[], userId: string) => list.includes(ANYONE) || list.includes(userId);

/** Owner, admins and writers may write. */
export function canWrite(doc: Pick<DocumentRecord, 'owner' | 'access'>, who: Principal): boolean {
  return who.role === 'admin' || doc.owner === who.userId || listed(doc.access.write, who.userId);
}

/** Writers may also read. */
export function canRead(doc: Pick<DocumentRecord, 'owner' | 'access'>, who: Principal): boolean {
  return canWrite(doc, who) || listed(doc.access.read, who.userId);
}

/** The access list of a new document: as given, with the creator among the writers. */
export function initialAccess(creator: string, given: Partial<DocumentAccess> | undefined): DocumentAccess {
  const read = [...new Set(given?.read ?? [])];
  const write = [...new Set([creator, ...(given?.write ?? [])])];
  return { read, write };
}
