import { ErrorCode, SwitchyardError } from '../errors.js';

/** Longest model name a usage entry may carry. */
export const MODEL_NAME_MAX_LENGTH = 256;

/**
 * The one rule for model names, shared by the `usage` event (the edge) and both
 * UsagePool adapters, so the backends agree: 1–256 characters, no control
 * characters. The Redis adapter joins `model\u0001sid` and lists models with `\n`;
 * it used to throw RangeError (SWY_INTERNAL for the client) on names the memory
 * adapter accepted. Throws BAD_REQUEST naming the rule.
 */
export function validateModelName(model: unknown): string {
  if (typeof model !== 'string' || model.length === 0 || model.length > MODEL_NAME_MAX_LENGTH) {
    throw new SwitchyardError(ErrorCode.BAD_REQUEST, `model must be a string of 1-${MODEL_NAME_MAX_LENGTH} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(model)) {
    throw new SwitchyardError(ErrorCode.BAD_REQUEST, 'model must not contain control characters');
  }
  return model;
}
