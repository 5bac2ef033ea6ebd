import { ErrorCode, SwitchyardError } from '../errors.js';

/** Checks of an event's `data` that every handler (gateway or feature) answers the same way: SWY_BAD_REQUEST naming the event and field. */

export function asObject(data: unknown, event: string): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SwitchyardError(ErrorCode.BAD_REQUEST, `${event}: data must be an object`);
  }
  return data as Record<string, unknown>;
}

export function requireString(obj: Record<string, unknown>, field: string, event: string, maxLength = 512): string {
  const v = obj[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) {
    throw new SwitchyardError(ErrorCode.BAD_REQUEST, `${event}: "${field}" must be a string of 1..${maxLength} characters`);
  }
  return v;
}
