// Request/reply over runtime messaging with a timeout and one retry. Requests carry a requestId and the
// receivers treat a repeated id as the same request, so retrying after a timeout or after the receiving
// context died (service worker stopped, offscreen document closed) never classifies twice.
import { errorMessage, type ErrorCode, type Reply } from './messages.ts';

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Errors that mean the other side is gone or did not answer, so one more try may succeed. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof TimeoutError) return true;
  const message = errorMessage(error);
  return /Could not establish connection|Receiving end does not exist|message port closed|message channel closed|No answer/i.test(message);
}

/**
 * Errors that mean the messaging channel itself failed (the other side, or this context, went away), not
 * that the other side answered with a failure or was too slow.
 */
export function isConnectionError(error: unknown): boolean {
  return !(error instanceof TimeoutError) && isRetryable(error);
}

export class ReplyError extends Error {
  override name = 'ReplyError';
  constructor(
    message: string,
    readonly code?: ErrorCode,
  ) {
    super(message);
  }
}

/** Unwraps a Reply: its result, or a ReplyError carrying the error text and code. */
export function unwrap<T>(reply: Reply<T> | undefined): T {
  if (reply === undefined || reply === null) throw new Error('No answer from DermLens (the receiving page was not ready).');
  if (!reply.ok) throw new ReplyError(reply.error, reply.code);
  return reply.result;
}

export interface RetryOptions {
  timeoutMs: number;
  /** Runs before the second attempt, e.g. to re-create the offscreen document. */
  beforeRetry?: (error: unknown) => Promise<void> | void;
  timeoutMessage: string;
}

/** Sends (via `send`) and unwraps the reply; one retry on a retryable failure. */
export async function requestWithRetry<T>(send: () => Promise<Reply<T> | undefined>, options: RetryOptions): Promise<T> {
  try {
    return unwrap(await withTimeout(send(), options.timeoutMs, options.timeoutMessage));
  } catch (error) {
    if (!isRetryable(error)) throw error;
    await options.beforeRetry?.(error);
    return unwrap(await withTimeout(send(), options.timeoutMs, options.timeoutMessage));
  }
}
