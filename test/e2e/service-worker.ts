// The extension's service worker as the tests see it: its running state, a way to stop it as MV3 does,
// and a handle to evaluate in the worker that is running now.
//
// Why not puppeteer's target.worker(): Chrome may keep one DevTools target for a worker that is stopped
// and started again at once (the overlay reconnects within milliseconds of a kill), so "the target went
// away" is no sign of a stop, and the WebWorker handle puppeteer caches on that target keeps a session
// that died with the old worker ("No session with given id"). Here the running state comes from the
// ServiceWorker domain of a page session (nothing attaches to the worker to watch it; every start and
// stop is an event, in order), the worker is stopped with ServiceWorker.stopWorker, and the evaluate
// handle is a fresh session made only while the worker is running, dropped before a stop and after any
// stop it missed.
import type { Browser, CDPSession, Page, Target } from 'puppeteer-core';
import type { Protocol } from 'devtools-protocol';

type RunningStatus = Protocol.ServiceWorker.ServiceWorkerVersionRunningStatus;

/** One workerVersionUpdated entry for the extension's worker, with the time (Date.now()) it arrived. */
export interface WorkerStatus {
  versionId: string;
  runningStatus: RunningStatus;
  status: Protocol.ServiceWorker.ServiceWorkerVersionStatus;
  at: number;
}

/** Evaluates in the service worker (same shape as puppeteer's WebWorker.evaluate). */
export interface WorkerHandle {
  evaluate<Args extends unknown[], R>(fn: ((...args: Args) => R) | string, ...args: Args): Promise<Awaited<R>>;
}

/**
 * Watches the service worker of the extension whose origin is `chrome-extension://<id>`, from a blank
 * page of its own (the ServiceWorker domain lives on page sessions; a blank page has no side effects).
 */
export class ServiceWorkerMonitor {
  /** Every status change of the extension's worker versions, in arrival order. */
  readonly log: WorkerStatus[] = [];
  private readonly latest = new Map<string, WorkerStatus>();
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly page: Page,
    private readonly session: CDPSession,
    private readonly origin: string,
  ) {}

  static async start(browser: Browser, extensionId: string): Promise<ServiceWorkerMonitor> {
    const page = await browser.newPage();
    const session = await page.createCDPSession();
    const monitor = new ServiceWorkerMonitor(page, session, `chrome-extension://${extensionId}/`);
    session.on('ServiceWorker.workerVersionUpdated', (event) => monitor.onVersions(event.versions));
    // enable reports every existing version (right after its reply), so the log starts with the
    // current state; wait for that, so nobody mistakes "not reported yet" for "stopped".
    await session.send('ServiceWorker.enable');
    await monitor.waitFor(0, () => true, 10_000, 'DevTools reported no service worker of the extension');
    return monitor;
  }

  private onVersions(versions: Protocol.ServiceWorker.ServiceWorkerVersion[]): void {
    const at = Date.now();
    for (const v of versions) {
      if (!v.scriptURL.startsWith(this.origin)) continue;
      const previous = this.latest.get(v.versionId);
      if (previous && previous.runningStatus === v.runningStatus && previous.status === v.status) continue;
      const entry: WorkerStatus = { versionId: v.versionId, runningStatus: v.runningStatus, status: v.status, at };
      this.latest.set(v.versionId, entry);
      this.log.push(entry);
    }
    for (const wake of [...this.waiters]) wake();
  }

  /** The active version's latest status (undefined before the first event). */
  active(): WorkerStatus | undefined {
    return [...this.latest.values()].filter((v) => v.status === 'activated').at(-1);
  }

  /** How many times a version of the extension's worker has reached 'stopped' so far. */
  stops(): number {
    return this.log.filter((e) => e.runningStatus === 'stopped').length;
  }

  /** Resolves with the first log entry from index `from` on that matches, waiting up to `timeout` ms. */
  waitFor(from: number, matches: (entry: WorkerStatus) => boolean, timeout: number, what: string): Promise<WorkerStatus> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.log.slice(from).find(matches);
        if (!found) return;
        done();
        resolve(found);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what} within ${timeout} ms; worker statuses seen: ${this.describe(from)}`));
      }, timeout);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits until the active version is running; returns its status entry. */
  async waitUntilRunning(timeout: number): Promise<WorkerStatus> {
    const current = this.active();
    if (current?.runningStatus === 'running') return current;
    return this.waitFor(0, () => this.active()?.runningStatus === 'running', timeout, 'the service worker did not start').then(() =>
      this.active()!,
    );
  }

  /**
   * Stops the running worker as Chrome does when it idles one out (what the DevTools "Stop" button
   * does), and resolves once DevTools reports it stopped, with that report (its `at` is when the stop
   * was confirmed). A worker that something wakes at once is reported starting again after that.
   */
  async stop(timeout = 10_000): Promise<WorkerStatus> {
    const running = await this.waitUntilRunning(timeout);
    const from = this.log.length;
    const stopped = this.waitFor(
      from,
      (e) => e.versionId === running.versionId && e.runningStatus === 'stopped',
      timeout,
      'the service worker did not stop',
    );
    await this.session.send('ServiceWorker.stopWorker', { versionId: running.versionId });
    return stopped;
  }

  /** The status sequence since log index `from`, e.g. "running → stopping → stopped → starting". */
  describe(from = 0): string {
    return (
      this.log
        .slice(from)
        .map((e) => `${e.runningStatus}@${e.at}`)
        .join(' → ') || '(none)'
    );
  }

  async close(): Promise<void> {
    await this.session.detach().catch(() => undefined);
    await this.page.close().catch(() => undefined);
  }
}

/** Source text that calls `fn` with `args` (JSON) in the worker; named inner functions get a no-op __name. */
function callSource(fn: ((...args: never[]) => unknown) | string, args: unknown[]): string {
  if (typeof fn === 'string') return fn;
  // tsx (esbuild keepNames) wraps named inner functions in __name(...), which the worker lacks.
  return `((__name) => (${fn.toString()})(...${JSON.stringify(args)}))((f) => f)`;
}

/** A handle on one DevTools session attached to the worker target. */
export async function attachToWorker(target: Target): Promise<{ handle: WorkerHandle; session: CDPSession }> {
  const session = await target.createCDPSession();
  const handle: WorkerHandle = {
    async evaluate(fn, ...args) {
      const { result, exceptionDetails } = await session.send('Runtime.evaluate', {
        expression: callSource(fn as (...a: never[]) => unknown, args),
        awaitPromise: true,
        returnByValue: true,
      });
      if (exceptionDetails) {
        throw new Error(`evaluation in the service worker failed: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
      }
      return result.value;
    },
  };
  return { handle, session };
}
