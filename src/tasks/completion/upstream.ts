import { UpstreamError } from '../errors.js';
import { SseParser } from './SseParser.js';

export interface ChatMessage {
  readonly role: string;
  readonly content: string;
}

export interface CompletionRequest {
  readonly baseUrl: string;
  readonly apiKey: string | null;
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly params: Readonly<Record<string, number>>;
  /** Aborting it closes the upstream connection at once. */
  readonly signal: AbortSignal;
}

/** An error body is read up to this many bytes (it only feeds the message). */
const MAX_ERROR_BODY = 4_096;
/** Statuses worth retrying: timeouts, rate limits and server errors. Other 4xx are the caller's fault. */
const isTransientStatus = (status: number) => status === 408 || status === 425 || status === 429 || status >= 500;

/**
 * One streamed `POST <baseUrl>/chat/completions`: calls `onDelta` with each piece of
 * content in order and resolves with the whole text. Rejects with an UpstreamError
 * saying whether it is worth retrying, or with the signal's reason once aborted.
 */
export async function streamChatCompletion(req: CompletionRequest, onDelta: (delta: string) => Promise<void>): Promise<string> {
  const url = `${req.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (req.apiKey) headers.authorization = `Bearer ${req.apiKey}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: req.model, messages: req.messages, stream: true, ...req.params }),
      signal: req.signal,
    });
  } catch (err) {
    if (req.signal.aborted) throw req.signal.reason;
    throw new UpstreamError(`cannot reach the completion upstream ${new URL(url).origin}: ${causeOf(err)}`, true, null, null, { cause: err });
  }
  if (!res.ok) {
    const detail = redact(await errorDetail(res), req.apiKey);
    const what = `completion upstream answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${detail ? `: ${detail}` : ''}`;
    throw new UpstreamError(what, isTransientStatus(res.status), res.status, retryAfterMs(res.headers.get('retry-after')));
  }
  if (!res.body) throw new UpstreamError('completion upstream sent no body', true, res.status);

  const parser = new SseParser();
  const decoder = new TextDecoder();
  let full = '';
  try {
    for await (const chunk of res.body) {
      for (const event of parser.push(decoder.decode(chunk, { stream: true }))) {
        if (event.data === '[DONE]') return full; // leaving the loop cancels the body
        const delta = deltaOf(event.data, req.apiKey);
        if (delta) {
          full += delta;
          await onDelta(delta);
        }
      }
    }
  } catch (err) {
    if (req.signal.aborted) throw req.signal.reason;
    if (err instanceof UpstreamError) throw err;
    throw new UpstreamError(`completion stream broke: ${causeOf(err)}`, true, res.status, null, { cause: err });
  }
  // Some servers end the stream without [DONE]; an answer that arrived is still an answer.
  if (full.length === 0) throw new UpstreamError('completion stream ended before any output', true, res.status);
  return full;
}

/** The content of one chunk; throws for an in-stream error object or malformed JSON. */
function deltaOf(data: string, apiKey: string | null): string {
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    throw new UpstreamError(`completion stream sent a chunk that is not JSON: ${data.slice(0, 80)}`, false, null);
  }
  const c = chunk as { error?: { message?: unknown }; choices?: Array<{ delta?: { content?: unknown } }> };
  if (c.error) throw new UpstreamError(`completion upstream reported an error mid-stream: ${redact(String(c.error.message ?? 'unknown'), apiKey)}`, false, null);
  const content = c.choices?.[0]?.delta?.content;
  return typeof content === 'string' ? content : '';
}

async function errorDetail(res: Response): Promise<string> {
  let text = '';
  try {
    const reader = res.body?.getReader();
    if (reader) {
      const decoder = new TextDecoder();
      while (text.length < MAX_ERROR_BODY) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      await reader.cancel().catch(() => {});
    }
  } catch {
    return '';
  }
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof body.error === 'string' ? body.error : (body.error?.message ?? body.message);
    if (typeof message === 'string') return message.slice(0, 300);
  } catch {
    // not JSON: use the text
  }
  return text.trim().slice(0, 300);
}

/** `Retry-After`: delay-seconds or an HTTP date → ms; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Upstreams echo part of a wrong key in their message; never pass any of it on. */
function redact(text: string, apiKey: string | null): string {
  let out = apiKey ? text.split(apiKey).join('[redacted]') : text;
  out = out.replace(/\b(sk|key|api)[-_][A-Za-z0-9_*-]{6,}/g, '[redacted]');
  return out;
}

function causeOf(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
