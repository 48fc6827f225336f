#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/ into build/ by `npm run build` (also run by `npm ci`).
import { main } from '../build/cli/main.js';

process.exitCode = await main(process.argv);
