/** Streaming splitter turning arbitrary text chunks into complete lines, with bounded memory per line. */

/** Options for {@link LineSplitter}. */
export interface LineSplitterOptions {
  /** Longest line kept, in UTF-16 code units without the line ending; longer ones are counted and dropped. */
  maxLineLength?: number;
}

const DEFAULT_MAX_LINE_LENGTH = 65536;
const CR = 13;

/**
 * Splits text chunks on `\n`, strips one trailing `\r` per line, and drops (but counts) overlong lines.
 *
 * State is explicit: `pending` holds the unfinished tail of the last chunk, and `discarding` is set while
 * the rest of an already-counted overlong line is being skipped, so such a line never buffers more than
 * `maxLineLength + 1` characters however many chunks it spans.
 */
export class LineSplitter {
  /** Longest line kept. */
  readonly maxLineLength: number;
  #pending = '';
  #discarding = false;
  #overlong = 0;

  constructor(options?: LineSplitterOptions) {
    const max = options?.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    if (!Number.isInteger(max) || max < 0)
      throw new RangeError(`maxLineLength must be a non-negative integer`);
    this.maxLineLength = max;
  }

  /** Lines longer than `maxLineLength` that were skipped so far. */
  get overlongLines(): number {
    return this.#overlong;
  }

  /** Feeds one chunk; returns the lines it completed (without `\n` and a trailing `\r`). */
  push(chunk: string): string[] {
    const out: string[] = [];
    const max = this.maxLineLength;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) break;
      if (this.#discarding) {
        // The tail of a line already counted as overlong.
        this.#discarding = false;
      } else {
        let line = this.#pending.length > 0 ? this.#pending + chunk.slice(start, nl) : chunk.slice(start, nl);
        this.#pending = '';
        // A CR split from its LF across chunks sits at the end of `pending`, so this also covers it.
        if (line.length > 0 && line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1);
        if (line.length > max) this.#overlong++;
        else out.push(line);
      }
      start = nl + 1;
    }
    if (start < chunk.length && !this.#discarding) {
      const rest = start === 0 ? chunk : chunk.slice(start);
      // One extra character is allowed for a `\r` whose `\n` has not arrived yet.
      if (this.#pending.length + rest.length > max + 1) {
        this.#overlong++;
        this.#pending = '';
        this.#discarding = true;
      } else {
        this.#pending += rest;
      }
    }
    return out;
  }

  /** Ends the stream: returns the last unterminated line, if any, and resets the state. */
  flush(): string[] {
    // While discarding, `pending` is already empty: the overlong line was counted when it overflowed.
    let line = this.#pending;
    this.#pending = '';
    this.#discarding = false;
    if (line.length > 0 && line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1);
    if (line.length === 0) return [];
    if (line.length > this.maxLineLength) {
      this.#overlong++;
      return [];
    }
    return [line];
  }
}
