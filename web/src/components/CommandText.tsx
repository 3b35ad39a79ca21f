/** A shell command whose lines break only between arguments (never inside `--orig-dst` or an address). */
import { Fragment } from 'react';

export function CommandText({ command }: { command: string }) {
  const words = command.split(' ');
  return (
    <code>
      {words.map((w, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: the words of one fixed command, in order
        <Fragment key={i}>
          {i > 0 && ' '}
          <span className="cmd-arg">{w}</span>
        </Fragment>
      ))}
    </code>
  );
}
