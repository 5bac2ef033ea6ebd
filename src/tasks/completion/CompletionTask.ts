import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ErrorCode, SwitchyardError } from '../../errors.js';
import { backoffMs } from '../backoff.js';
import { UpstreamError } from '../errors.js';
import type { TaskKind, TaskRunContext } from '../types.js';
import { streamChatCompletion, type ChatMessage } from './upstream.js';

export const COMPLETION_KIND = 'completion';

export interface CompletionOptions {
  /** OpenAI-compatible API root, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended. */
  readonly baseUrl: string;
  /** Bearer key; null sends none. Never logged; redacted from upstream error texts. */
  readonly apiKey: string | null;
  /** Model when the input names none. */
  readonly model: string;
  /** Transient failures retried before the first token. */
  readonly maxRetries: number;
  /** First retry delay, ms; doubles per attempt with jitter. */
  readonly minBackoffMs: number;
  /** Cap on one retry delay (Retry-After included), ms. */
  readonly maxBackoffMs: number;
  /** Cap on `max_tokens`: sent when the input names none; a larger request is refused. */
  readonly maxTokens: number;
  /** Models the input may name besides `model` (always allowed); `"*"` allows any. */
  readonly allowedModels: readonly string[];
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
}

const InputSchema = z.object({
  messages: z
    .array(z.object({ role: z.enum(['system', 'user', 'assistant', 'tool', 'developer']), content: z.string() }))
    .min(1, 'needs at least one message'),
  model: z.string().min(1).optional(),
  chat_id: z.string().min(1).optional(),
  message_id: z.string().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().min(1).optional(),
});

export interface CompletionInput {
  readonly messages: ChatMessage[];
  readonly model: string;
  /** `<id>` of item `chat:<id>`, or the input's `chat_id`. */
  readonly chatId: string | null;
  readonly messageId: string | null;
  /** Sampling parameters passed through as given; `max_tokens` always set (capped). */
  readonly params: Readonly<Record<string, number>>;
}

/** `chat:completion` payload of an `events` frame (SPEC §4.2). */
export interface CompletionDelta {
  readonly chat_id: string | null;
  readonly message_id: string;
  readonly data: { readonly type: 'chat:completion'; readonly data: { readonly content: string; readonly done: boolean } };
}

/**
 * The `completion` task: streams an OpenAI-compatible chat completion and sends each
 * delta to the owner's sockets as `events` (`content` = the new text, `done: false`),
 * then one `done: true` frame whose `content` is the whole answer. Stopping aborts the
 * upstream request at once. Before the first token, transient failures (network,
 * 5xx, 429 honouring Retry-After) are retried with capped exponential backoff;
 * 400/401/403/404 fail at once. After the first token nothing is retried (the owner
 * already saw part of the answer; a retry would repeat it).
 */
export function completionTask(options: CompletionOptions): TaskKind<CompletionInput> {
  const random = options.random ?? Math.random;
  const allowed = new Set([options.model, ...options.allowedModels]);
  // The server's upstream key pays for every token: a caller may not pick a pricier
  // model than the operator allowed, nor ask for an unbounded answer.
  const allowModel = (model: string): string => {
    if (allowed.has('*') || allowed.has(model)) return model;
    throw new SwitchyardError(ErrorCode.BAD_REQUEST, `completion input.model: "${model}" is not allowed on this server; allowed: ${[...allowed].join(', ')}`);
  };
  const capTokens = (requested: number | undefined): number => {
    if (requested === undefined) return options.maxTokens;
    if (requested > options.maxTokens) {
      throw new SwitchyardError(ErrorCode.BAD_REQUEST, `completion input.max_tokens: ${requested} is over this server's cap of ${options.maxTokens}`);
    }
    return requested;
  };
  return {
    name: COMPLETION_KIND,

    parse(input, itemId) {
      const result = InputSchema.safeParse(input);
      if (!result.success) {
        const issue = result.error.issues[0]!;
        throw new SwitchyardError(ErrorCode.BAD_REQUEST, `completion input.${issue.path.join('.') || '(root)'}: ${issue.message}`);
      }
      const { messages, model, chat_id: chatId, message_id: messageId, ...params } = result.data;
      const fromItem = itemId?.startsWith('chat:') ? itemId.slice('chat:'.length) : null;
      const clean = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<string, number>;
      return { messages, model: allowModel(model ?? options.model), chatId: chatId ?? fromItem, messageId: messageId ?? null, params: { ...clean, max_tokens: capTokens(clean.max_tokens) } };
    },

    async run(ctx: TaskRunContext<CompletionInput>) {
      const { input, signal } = ctx;
      const messageId = input.messageId ?? ctx.taskId;
      const emit = (content: string, done: boolean) =>
        ctx.emitToOwner('events', {
          chat_id: input.chatId,
          message_id: messageId,
          data: { type: 'chat:completion', data: { content, done } },
        } satisfies CompletionDelta);

      for (let attempt = 0; ; attempt++) {
        let started = false;
        try {
          const full = await streamChatCompletion(
            { baseUrl: options.baseUrl, apiKey: options.apiKey, model: input.model, messages: input.messages, params: input.params, signal },
            async (delta) => {
              started = true;
              await emit(delta, false);
            },
          );
          await emit(full, true);
          return;
        } catch (err) {
          if (signal.aborted) throw signal.reason;
          const upstream = err instanceof UpstreamError ? err : new UpstreamError(`completion stream failed: ${String(err)}`, true, null, null, { cause: err });
          if (!upstream.transient) throw upstream;
          if (started) throw new UpstreamError(`upstream broke off mid-answer: ${upstream.message}`, true, upstream.status);
          if (attempt >= options.maxRetries) {
            throw new UpstreamError(`upstream still failing after ${attempt + 1} attempt(s): ${upstream.message}`, true, upstream.status);
          }
          const backoff = backoffMs(attempt, { minMs: options.minBackoffMs, maxMs: options.maxBackoffMs }, random);
          const delayMs = Math.round(Math.min(options.maxBackoffMs, upstream.retryAfterMs ?? backoff));
          ctx.log.info({ attempt: attempt + 1, status: upstream.status, delayMs, err: upstream.message }, 'upstream failed before the first token; retrying');
          try {
            await sleep(delayMs, undefined, { signal });
          } catch {
            throw signal.reason;
          }
        }
      }
    },
  };
}
