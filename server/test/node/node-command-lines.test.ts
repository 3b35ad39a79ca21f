import { describe, expect, it } from 'vitest';
import { NodeCommandError, runNodeCommand } from '../../src/node/node-command.js';

/** Runs `printf FORMAT` with stdout streamed as lines (printf is a real tool; no shell involved). */
async function streamed(format: string, maxBuffer?: number): Promise<{ lines: string[]; stdout: string }> {
  const lines: string[] = [];
  const r = await runNodeCommand('printf', [format], {
    maxBuffer,
    onStdoutLines: (chunk) => lines.push(...chunk),
  });
  return { lines, stdout: r.stdout };
}

describe('runNodeCommand with onStdoutLines (a full dump streamed line by line)', () => {
  it.each([
    { name: 'plain lines', format: 'a\\nb\\nc\\n', lines: ['a', 'b', 'c'] },
    { name: 'no final newline: the last line still comes', format: 'a\\nb', lines: ['a', 'b'] },
    { name: 'CRLF line endings are stripped', format: 'a\\r\\nb\\r\\n', lines: ['a', 'b'] },
    { name: 'empty lines are kept (the caller filters)', format: 'a\\n\\nb\\n', lines: ['a', '', 'b'] },
    { name: 'no output', format: '', lines: [] },
  ])('$name', async ({ format, lines }) => {
    const r = await streamed(format);
    expect(r.lines).toEqual(lines);
    // Nothing is buffered as one string.
    expect(r.stdout).toBe('');
  });

  it('a long output arrives whole, across many chunks', async () => {
    // 20,000 lines of ~60 chars: well past one 64 KiB pipe chunk.
    const lines: string[] = [];
    await runNodeCommand('seq', ['-f', `ipv4 2 udp 17 30 src=10.200.%g.1 dst=10.96.0.10`, '1', '20000'], {
      onStdoutLines: (chunk) => lines.push(...chunk),
    });
    expect(lines).toHaveLength(20_000);
    expect(lines[0]).toBe('ipv4 2 udp 17 30 src=10.200.1.1 dst=10.96.0.10');
    expect(lines[19_999]).toBe('ipv4 2 udp 17 30 src=10.200.20000.1 dst=10.96.0.10');
  });

  it('output beyond maxBuffer kills the command and fails as "output too large"', async () => {
    // `yes` never ends on its own: only the bound stops it.
    const err = await runNodeCommand('yes', ['ipv4 line'], {
      maxBuffer: 100_000,
      onStdoutLines: () => {},
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeCommandError);
    expect((err as Error).message).toMatch(/output too large/);
  });
});
