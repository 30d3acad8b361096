#!/usr/bin/env -S node --initial-old-space-size=256
// The floe command; the TypeScript build (npm install runs it) is in dist/.
import { main } from '../dist/cli/main.js';

await main(process.argv.slice(2));
