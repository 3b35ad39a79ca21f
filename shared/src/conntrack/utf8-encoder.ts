/** The one WHATWG TextEncoder the line scanners copy lines into bytes with (a global in Node, browsers and workers). */

/** The part of TextEncoder used here (not in lib ES2023, which the pure core builds against). */
export interface Utf8Encoder {
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
}

const EncoderCtor = (globalThis as { TextEncoder?: new () => Utf8Encoder }).TextEncoder;

/** Undefined where there is no TextEncoder: the scanners then read the line's char codes instead. */
export const utf8Encoder: Utf8Encoder | undefined = EncoderCtor === undefined ? undefined : new EncoderCtor();
