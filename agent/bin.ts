#!/usr/bin/env node
import { main } from './cli.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// A one-shot command that gave up on a peer at its deadline may still hold that peer's socket or child:
// the answer is printed, so the process ends without waiting for them.
setTimeout(() => process.exit(code), 1000).unref();
