/** Parses one line of any conntrack output format: plain/extended/timestamp text or `-o xml`. */
import type { ParseResult } from './conntrack-types.js';
import { parseConntrackLine } from './parse-conntrack-line.js';
import { parseConntrackXmlLine } from './parse-conntrack-xml.js';

/** Dispatch on the first non-blank character: `<` is XML, anything else the text format. */
export function parseConntrackOutputLine(line: string): ParseResult {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9) continue;
    return c === 60 /* < */ ? parseConntrackXmlLine(line) : parseConntrackLine(line);
  }
  return parseConntrackLine(line);
}
