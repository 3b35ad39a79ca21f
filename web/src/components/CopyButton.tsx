/** Copies text to the clipboard, with a fallback for pages served over plain http (no Clipboard API there). */
import { useState } from 'react';

/** Copy to the clipboard; false when the browser refused. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Fall through to the selection-based copy.
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

/** A button that copies `text` and says so. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [status, setStatus] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <>
      <button
        type="button"
        className="btn"
        onClick={async () => {
          setStatus((await copyText(text)) ? 'copied' : 'failed');
          setTimeout(() => setStatus('idle'), 2000);
        }}
        aria-label={`${label}: ${text}`}
      >
        {status === 'copied' ? 'Copied ✓' : status === 'failed' ? 'Copy failed: select the text' : label}
      </button>
      <span className="sr-only" aria-live="polite">
        {status === 'copied' ? 'copied to the clipboard' : ''}
      </span>
    </>
  );
}
