// `npm run decode -- <file|->`: decodes a captured EWS push exactly as the receiver would and
// prints it as JSON. On bad input it prints a one-line reason on stderr, nothing on stdout, and
// exits 1 (2 for a usage error), so scripts can tell the cases apart.
import { readFileSync } from 'node:fs';
import { decodeSendNotification } from '../functions/ews/notification.ts';

const USAGE = 'usage: npm run --silent decode -- <file|->   (- reads standard input)';

function fail(code: 1 | 2, message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

const args = process.argv.slice(2);
if (args.length !== 1 || args[0] === undefined || args[0] === '--help' || args[0] === '-h') {
  fail(2, USAGE);
}
const [source] = args;
let body: Buffer;
try {
  body = readFileSync(source === '-' ? 0 : source);
} catch (e) {
  const reason = e instanceof Error && 'code' in e ? String(e.code) : String(e);
  fail(2, `cannot read ${source === '-' ? 'standard input' : JSON.stringify(source)}: ${reason}`);
}

const decoded = decodeSendNotification(body);
if (!decoded.ok) fail(1, decoded.error.message);
process.stdout.write(`${JSON.stringify(decoded.value, null, 2)}\n`);
