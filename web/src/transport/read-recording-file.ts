/** Reads a dropped or downloaded recording as text, inflating gzip (segments and exported slices) by its magic bytes. */

/** The text of a recording file, gzip or plain. */
export async function readRecordingFile(file: Blob): Promise<string> {
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  if (head[0] !== 0x1f || head[1] !== 0x8b) return file.text();
  const stream = file.stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).text();
}
