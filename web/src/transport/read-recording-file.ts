/** Reads a dropped or downloaded recording as text, inflating gzip (segments and exported slices) by its magic bytes. */

/**
 * The text of a recording file, gzip or plain. A gzip segment still being written (or cut short by a crash) has
 * no trailer: it is read up to its last whole line instead of failing.
 */
export async function readRecordingFile(file: Blob): Promise<string> {
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  if (head[0] !== 0x1f || head[1] !== 0x8b) return file.text();
  const reader = file.stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  const decoder = new TextDecoder();
  const parts: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(decoder.decode(value, { stream: true }));
    }
  } catch (err) {
    const text = parts.join('');
    const end = text.lastIndexOf('\n');
    if (end < 0) throw err;
    return text.slice(0, end + 1);
  }
  parts.push(decoder.decode());
  return parts.join('');
}
