// A process that stores one object and nothing else, so that a test can kill it half-way through the write:
//   bun test/support/storage-writer.ts '<{"kind":"disk","root":…} | {"kind":"s3","settings":…}>' <key> <bytes>
// Prints "writing" just before the put and "done" after it.
import { createLocalStorage } from '../../src/storage/local';
import { createS3Storage } from '../../src/storage/s3';

const [spec, key, size] = process.argv.slice(2);
const s = JSON.parse(spec);
const storage = s.kind === 'disk' ? createLocalStorage(s.root) : createS3Storage(s.settings);
const bytes = new Uint8Array(Number(size)).fill(0x2a);
console.log('writing');
await storage.put(key, bytes);
console.log('done');
