/**
 * Reloads the tuning file without a restart (docs/tuning.md, "Reloading"): when the file or one of
 * its list files changes (fs.watch on their directories, debounced, with a polling fallback for
 * file systems where watching is unreliable: network mounts, Kubernetes ConfigMap symlink swaps),
 * or when reload() is called (SIGHUP), the file is loaded and validated; a good one is swapped in
 * whole through onSwap, a bad one is refused through onRefused and the old tuning stays in force.
 * A reload that yields the same version (same text and lists) swaps nothing.
 *
 * This is the only part of src/tuning that touches the file system's clock and timers.
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { loadTuningFile, type Tuning } from './tuningConfig.js';

export type ReloadResult =
  | { readonly status: 'accepted'; readonly version: string; readonly previous: string }
  | { readonly status: 'unchanged'; readonly version: string }
  | { readonly status: 'refused'; readonly error: Error; readonly version: string };

export interface ReloaderOptions {
  /** A new tuning is in force (call Tuner.setTuning here). */
  readonly onSwap: (next: Tuning, previous: Tuning) => void;
  /** A changed file was refused; `current` stays in force. */
  readonly onRefused: (error: Error, current: Tuning) => void;
  /** Every reload's outcome, for the reloads metric (label: status). */
  readonly onReload?: (result: ReloadResult) => void;
  /** Quiet time after the last file event before reloading (editors write in several steps). */
  readonly debounceMs?: number;
  /** Polling interval of the fallback; 0 turns it off. */
  readonly pollMs?: number;
  /** Whether to use fs.watch at all (polling only when false). */
  readonly watch?: boolean;
  /** How the file is read and validated; loadTuningFile by default. */
  readonly load?: (file: string) => Tuning;
}

export class TuningReloader {
  private tuning: Tuning;
  private readonly file: string;
  private readonly opts: ReloaderOptions;
  private watchers: FSWatcher[] = [];
  private watchedFiles: string[] = [];
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private poller: ReturnType<typeof setInterval> | undefined;
  private signature = '';
  private started = false;

  /** `initial` is the tuning already in force (loaded at start, where a bad file is fatal). */
  constructor(file: string, initial: Tuning, opts: ReloaderOptions) {
    this.file = resolve(file);
    this.tuning = initial;
    this.opts = opts;
  }

  /** Loads the file once (throws TuningError when it is bad) and returns a reloader around it. */
  static open(file: string, opts: ReloaderOptions): TuningReloader {
    const load = opts.load ?? ((f: string) => loadTuningFile(f));
    return new TuningReloader(file, load(file), opts);
  }

  /** The tuning in force. */
  get current(): Tuning {
    return this.tuning;
  }

  /** Starts watching and polling. Timers do not keep the process alive. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.signature = this.fileSignature();
    this.rewatch();
    const pollMs = this.opts.pollMs ?? 2000;
    if (pollMs > 0) {
      this.poller = setInterval(() => {
        const now = this.fileSignature();
        if (now === this.signature) return;
        // Noted at once, so that one change schedules one reload (not a debounce reset per poll).
        this.signature = now;
        this.schedule();
      }, pollMs);
      this.poller.unref();
    }
  }

  stop(): void {
    this.started = false;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    if (this.poller !== undefined) clearInterval(this.poller);
    this.debounce = undefined;
    this.poller = undefined;
  }

  /** Loads, validates and swaps now (SIGHUP). Never throws. */
  reload(): ReloadResult {
    const load = this.opts.load ?? ((f: string) => loadTuningFile(f));
    const previous = this.tuning;
    let result: ReloadResult;
    // The signature is taken before reading: a write landing during the load triggers another.
    const signature = this.fileSignature();
    try {
      const next = load(this.file);
      if (next.version === previous.version) {
        result = { status: 'unchanged', version: previous.version };
      } else {
        this.tuning = next;
        result = { status: 'accepted', version: next.version, previous: previous.version };
        this.opts.onSwap(next, previous);
      }
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      result = { status: 'refused', error, version: previous.version };
      this.opts.onRefused(error, previous);
    }
    this.signature = signature;
    if (this.started) this.rewatch();
    this.opts.onReload?.(result);
    return result;
  }

  private schedule(): void {
    if (!this.started) return;
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.reload();
    }, this.opts.debounceMs ?? 200);
    this.debounce.unref();
  }

  /** The files to watch: the tuning file and the lists of the tuning in force. */
  private files(): string[] {
    return [...new Set([this.file, ...this.tuning.files.map((f) => resolve(f))])].sort();
  }

  /** mtime and size of each file ('-' when missing): what polling compares. */
  private fileSignature(): string {
    return this.files()
      .map((f) => {
        try {
          const s = statSync(f);
          return `${f}:${s.mtimeMs}:${s.size}:${s.ino}`;
        } catch {
          return `${f}:-`;
        }
      })
      .join('|');
  }

  /** Watches the directories of the files (editors and ConfigMaps replace files by renaming). */
  private rewatch(): void {
    if (this.opts.watch === false) return;
    const files = this.files();
    if (files.join('|') === this.watchedFiles.join('|') && this.watchers.length > 0) return;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    this.watchedFiles = files;
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const names = byDir.get(dirname(f)) ?? new Set<string>();
      names.add(basename(f));
      byDir.set(dirname(f), names);
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          // Some platforms give no name; ConfigMaps swap a `..data` symlink: reload on those too.
          if (name === null || names.has(String(name)) || String(name).startsWith('..')) this.schedule();
        });
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch {
        // Polling covers a directory that cannot be watched.
      }
    }
  }
}
