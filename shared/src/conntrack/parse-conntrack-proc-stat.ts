/** Reads the kernel's `/proc/net/stat/nf_conntrack` into the counters `conntrack -S` and `conntrack -C` print. */

/**
 * The file's column names for the counters `conntrack -S` prints, under `conntrack -S`'s names (which are the
 * metric names). Left out: `entries` (the count), the `expect_*` ones (`conntrack -S expect`), and the columns a
 * kernel prints as a constant 0 and sends no attribute for (`searched`, `new`, `delete`, `delete_list`; `ignore`
 * too where the header has `chainlength`, whose kernels no longer count it).
 */
const STAT_NAMES: ReadonlyMap<string, string> = new Map([
  ['found', 'found'],
  ['invalid', 'invalid'],
  ['insert', 'insert'],
  ['insert_failed', 'insert_failed'],
  ['drop', 'drop'],
  ['early_drop', 'early_drop'],
  ['icmp_error', 'error'],
  ['search_restart', 'search_restart'],
  ['clashres', 'clash_resolve'],
  ['chainlength', 'chaintoolong'],
]);
/** Older kernels (no `chainlength` column) still count `ignore`, and `conntrack -S` prints it there. */
const OLDER_STAT_NAMES: ReadonlyMap<string, string> = new Map([...STAT_NAMES, ['ignore', 'ignore']]);

/** The counters of one reading of the file. */
export interface ProcConntrackStat {
  /** Entries in the table (the `entries` column, the same on every CPU's row): what `conntrack -C` prints. */
  count: number;
  /** Counters summed over CPUs, named as `conntrack -S` names them. */
  stats: Record<string, number>;
}

/** Parse the file's text: a header of column names, then one row of hex numbers per CPU. Throws on anything else. */
export function parseConntrackProcStat(text: string): ProcConntrackStat {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  const entries = header.indexOf('entries');
  if (entries < 0) throw new Error('nf_conntrack stat: no "entries" column in the header');
  if (lines.length < 2) throw new Error('nf_conntrack stat: no per-CPU rows');
  const names = header.includes('chainlength') ? STAT_NAMES : OLDER_STAT_NAMES;
  const stats = Object.create(null) as Record<string, number>;
  const columns = header.map((h) => names.get(h));
  for (const name of columns) if (name !== undefined) stats[name] = 0;
  let count = 0;
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r]!.trim().split(/\s+/);
    if (cells.length !== header.length) {
      throw new Error(`nf_conntrack stat: row ${r} has ${cells.length} columns, the header ${header.length}`);
    }
    for (let c = 0; c < cells.length; c++) {
      const v = /^[0-9a-fA-F]{1,16}$/.test(cells[c]!) ? Number.parseInt(cells[c]!, 16) : Number.NaN;
      if (!Number.isSafeInteger(v)) throw new Error(`nf_conntrack stat: row ${r}: bad number "${cells[c]}"`);
      const name = columns[c];
      if (name !== undefined) stats[name]! += v;
      else if (c === entries && r === 1) count = v;
    }
  }
  return { count, stats };
}
