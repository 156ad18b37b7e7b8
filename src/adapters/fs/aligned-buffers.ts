/**
 * Alignment that O_DIRECT asks of a write's buffer address, length and file offset. Linux needs the
 * device's logical block size (512 on most disks, 4096 on 4Kn ones); 4096 covers both.
 */
export const DIRECT_ALIGN = 4096;

/** WebAssembly's page: a memory's size is a whole number of them. */
const WASM_PAGE = 64 * 1024;

/** The ArrayBuffers allocateAligned made page-aligned (ordinary buffers are not: malloc puts a header first). */
const aligned = new WeakSet<ArrayBufferLike>();

/**
 * A buffer of size bytes whose first byte is page-aligned, so it can be written with O_DIRECT; shared:
 * backed by a SharedArrayBuffer that a worker thread can read.
 *
 * Why WebAssembly memory: Node gives no aligned allocation and no buffer's address, and V8 allocates a
 * WebAssembly.Memory from whole pages. Each one reserves address space (about 10 GiB of the 128 TiB a
 * 64-bit process has) but commits only the pages touched, and is freed with its last reference. When
 * no memory can be made (the reservations ran out), or size is not a whole number of WebAssembly pages,
 * this returns an ordinary buffer, which isAligned() refuses: the writer then writes that batch through
 * the page cache as before.
 */
export function allocateAligned(size: number, shared = false): Buffer {
  if (size > 0 && size % WASM_PAGE === 0) {
    try {
      const pages = size / WASM_PAGE;
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
      aligned.add(memory.buffer);
      return Buffer.from(memory.buffer);
    } catch {
      // no address space left for another memory: an ordinary buffer below
    }
  }
  return shared ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafeSlow(size);
}

/** Whether b starts on a page of a buffer from allocateAligned, and its length suits O_DIRECT. */
export function isDirectWritable(b: Uint8Array): boolean {
  return aligned.has(b.buffer) && b.byteOffset % DIRECT_ALIGN === 0 && b.byteLength % DIRECT_ALIGN === 0;
}
