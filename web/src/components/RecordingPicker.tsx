/** Lists the server's recordings to replay in the browser, and opens a local file. */

import type { RecordingInfo } from '@ctscope/shared';
import { useEffect, useRef, useState } from 'react';
import { formatCount, formatDateTime, formatDuration } from '../domain/format.js';

/** Where recordings come from and what to do with the chosen one. */
export interface RecordingPickerProps {
  list: () => Promise<RecordingInfo[] | undefined>;
  onOpen: (name: string) => Promise<void>;
  onFile: (file: File) => void;
  onClose: () => void;
  serverReplay: boolean;
}

/** Modal: the server's recordings, or a local file. */
export function RecordingPicker({ list, onOpen, onFile, onClose, serverReplay }: RecordingPickerProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [items, setItems] = useState<RecordingInfo[] | undefined | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState<string | undefined>();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  const listRef = useRef(list);
  useEffect(() => {
    listRef.current().then(setItems, (err: Error) => setError(err.message));
  }, []);
  return (
    <dialog ref={ref} className="dialog recordings" aria-labelledby="rec-title" onCancel={onClose}>
      <h2 id="rec-title" className="section-title">
        Open a recording
      </h2>
      <p>
        <label className="btn file-btn">
          Open a file from this computer…
          <input
            type="file"
            accept=".ndjson,.json,.jsonl,application/x-ndjson"
            className="sr-only"
            data-recording-input=""
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) onFile(f);
            }}
          />
        </label>{' '}
        <span className="muted small">
          or drop it anywhere on the page. It is classified here, in the browser.
        </span>
      </p>
      <h3 className="sub-title">On the server</h3>
      {serverReplay && <p className="muted">This server is replaying a recording: use the replay bar.</p>}
      {error && <p className="crit-text">{error}</p>}
      {items === null && !error && <p className="muted">Loading…</p>}
      {items === undefined && <p className="muted">This server does not list recordings.</p>}
      {items && items.length === 0 && (
        <p className="muted">No recordings (is recording on? see --data-dir).</p>
      )}
      {items && items.length > 0 && (
        <table className="rec-table">
          <thead>
            <tr>
              <th scope="col">Recording</th>
              <th scope="col">Node</th>
              <th scope="col">From</th>
              <th scope="col">Length</th>
              <th scope="col">Size</th>
              <th scope="col">
                <span className="sr-only">Open</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.name}>
                <td className="mono">{r.name}</td>
                <td>{r.node ?? '–'}</td>
                <td>{r.firstT ? formatDateTime(r.firstT) : '–'}</td>
                <td>{r.firstT && r.lastT ? formatDuration(r.lastT - r.firstT) : '–'}</td>
                <td>{formatCount(r.bytes)}B</td>
                <td>
                  <button
                    type="button"
                    className="btn"
                    disabled={busy !== undefined}
                    onClick={async () => {
                      setBusy(r.name);
                      try {
                        await onOpen(r.name);
                      } catch (err) {
                        setError((err as Error).message);
                      } finally {
                        setBusy(undefined);
                      }
                    }}
                  >
                    {busy === r.name ? 'Opening…' : 'Replay'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
      </div>
    </dialog>
  );
}
