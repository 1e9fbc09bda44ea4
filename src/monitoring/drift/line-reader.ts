// Line streaming of capture files, shared by the capture-check Lambda and bench/drift: pure, no AWS imports.

/** A capture line longer than this many characters is malformed and skipped. */
export const MAX_LINE_CHARS = 16 * 1024 * 1024;

/** Streams `body` as UTF-8 (invalid bytes throw) and calls `onLine` for each line without its line break. */
export async function forEachLine(body: AsyncIterable<Uint8Array>, onLine: (line: string) => void, onOversize: () => void): Promise<void> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending = '';
  let skipping = false;
  const push = (text: string) => {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (skipping) {
        skipping = false;
      } else if (pending.length + nl - start > MAX_LINE_CHARS) {
        onOversize();
      } else {
        onLine(pending + text.slice(start, nl));
      }
      pending = '';
      start = nl + 1;
    }
    if (!skipping) {
      pending += text.slice(start);
      if (pending.length > MAX_LINE_CHARS) {
        pending = '';
        skipping = true;
        onOversize();
      }
    }
  };
  for await (const chunk of body) { push(decoder.decode(chunk, { stream: true })); }
  push(decoder.decode());
  if (!skipping && pending.length > 0) { onLine(pending); }
}
