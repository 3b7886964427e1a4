#!/usr/bin/env node
// The published bin runs the compiled CLI (`npm run build` writes dist/).
import '../dist/cli/main.js';
