// Lets Node import files with Vite's `?raw` suffix (WGSL kernels) as text: call before importing such modules.

import { register } from 'node:module';

register('./raw-import-hooks.mjs', import.meta.url);
