// Progress within an epoch: a cli-progress bar with ETA and running loss on a terminal, and plain
// lines (at most one per ~10% or 30 s) when stdout is a file or pipe, so logs stay readable.
import cliProgress from 'cli-progress';

export interface EpochProgress {
  update(done: number, runningLoss: number): void;
  stop(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export function epochProgress(
  label: string,
  total: number,
  { tty = Boolean(process.stdout.isTTY), write = (line: string) => process.stdout.write(`${line}\n`) } = {},
): EpochProgress {
  const started = Date.now();
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} batches | loss {loss} | {elapsed} elapsed, ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { loss: '-', elapsed: '0s' });
    return {
      update: (done, loss) => bar.update(done, { loss: loss.toFixed(4), elapsed: formatDuration((Date.now() - started) / 1000) }),
      stop: () => bar.stop(),
    };
  }
  let lastLine = started;
  let lastTenth = 0;
  return {
    update(done, loss) {
      const now = Date.now();
      const tenth = Math.floor((done / total) * 10);
      if (done === total || (tenth <= lastTenth && now - lastLine < 30_000)) return;
      lastTenth = tenth;
      lastLine = now;
      const elapsed = (now - started) / 1000;
      const eta = (elapsed / done) * (total - done);
      write(`${label} ${done}/${total} batches, loss ${loss.toFixed(4)}, ${formatDuration(elapsed)} elapsed, ETA ${formatDuration(eta)}`);
    },
    stop() {},
  };
}
