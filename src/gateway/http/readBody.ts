import type { HttpResponse } from 'uWebSockets.js';
import { ErrorCode, SwitchyardError } from '../../errors.js';
import type { ResponseState } from './HttpReply.js';

/**
 * Reads a request body up to `limitBytes`. Must be called synchronously inside the
 * uWS handler (chunks arriving before `onData` is attached are lost). Each chunk is
 * copied: uWS reuses its memory after the callback returns. Rejects with
 * PAYLOAD_TOO_LARGE as soon as the limit is passed, without buffering the rest.
 */
/** What the headers say about a body: its declared length (null when chunked or absent) and whether one follows. */
export function bodyOf(headers: Readonly<Record<string, string>>): { declared: number | null; expected: boolean } {
  const cl = headers['content-length'];
  const chunked = /chunked/i.test(headers['transfer-encoding'] ?? '');
  const declared = cl === undefined ? null : Number(cl);
  return { declared, expected: chunked || (declared !== null && declared !== 0) };
}

export function readBody(
  res: HttpResponse,
  state: ResponseState,
  headers: Readonly<Record<string, string>>,
  limitBytes: number,
): Promise<Buffer> {
  const declared = headers['content-length'];
  const chunked = /chunked/i.test(headers['transfer-encoding'] ?? '');
  if (declared === undefined && !chunked) return Promise.resolve(Buffer.alloc(0)); // no body: uWS never calls onData
  if (declared !== undefined && Number(declared) > limitBytes) {
    return Promise.reject(tooLarge(limitBytes));
  }
  if (declared !== undefined && Number(declared) === 0) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    res.onData((chunk, isLast) => {
      if (failed || state.aborted) return;
      size += chunk.byteLength;
      if (size > limitBytes) {
        failed = true;
        reject(tooLarge(limitBytes));
        return;
      }
      chunks.push(Buffer.from(new Uint8Array(chunk))); // copy: the ArrayBuffer is neutered after this callback
      if (isLast) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
  });
}

export function tooLargeMessage(limitBytes: number): string {
  return `request body is larger than ${limitBytes} bytes`;
}

export function tooLarge(limitBytes: number): SwitchyardError {
  return new SwitchyardError(ErrorCode.PAYLOAD_TOO_LARGE, tooLargeMessage(limitBytes));
}
