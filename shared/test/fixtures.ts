/** Test helper: reads files under test/fixtures. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

export function fixture(rel: string): string {
  return readFileSync(join(FIXTURES, rel), 'utf8');
}

export function named(rel: string): { name: string; text: string } {
  return { name: rel, text: fixture(rel) };
}
