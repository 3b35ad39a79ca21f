/** The `?` overlay listing every keyboard shortcut. */
import { useEffect, useRef } from 'react';

/** Every shortcut the dashboard binds, as shown in the overlay. */
export const SHORTCUTS: ReadonlyArray<[string, string]> = [
  ['?', 'show or hide this help'],
  ['j / ↓', 'next flow (opens its detail)'],
  ['k / ↑', 'previous flow'],
  ['Esc', 'close the detail or this help'],
  ['c', 'copy the selected flow’s remedy command'],
  ['/', 'search flows'],
  ['v', 'switch between Flows and Services'],
  ['1 2 3 4', 'time window 1m, 5m, 15m, 1h'],
  ['0', 'follow live again after zooming'],
  ['t', 'light / dark theme'],
  ['o', 'open a recording'],
  ['space', 'replay: play / pause'],
  ['← / →', 'replay: back / forward 10 s (with Shift: 60 s)'],
  ['Home / End', 'replay: jump to the start / end'],
  ['[ / ]', 'replay: slower / faster'],
];

/** Modal list of shortcuts and page tips. */
export function HelpOverlay({ onClose }: { onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog ref={ref} className="dialog help" aria-labelledby="help-title" onCancel={onClose}>
      <h2 id="help-title" className="section-title">
        Keyboard shortcuts
      </h2>
      <table className="help-table">
        <tbody>
          {SHORTCUTS.map(([k, what]) => (
            <tr key={k}>
              <th scope="row">
                <kbd>{k}</kbd>
              </th>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">
        Drop a recording file (<code>.ndjson</code>) anywhere on the page to replay it in this browser, no
        server needed. Add <code>?kiosk=1</code> to the address for the wall display,{' '}
        <code>?theme=light</code> for the light theme.
      </p>
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
      </div>
    </dialog>
  );
}
