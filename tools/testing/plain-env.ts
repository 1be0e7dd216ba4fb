// A vitest setup file (setupFiles in each project's vitest.config.ts): every test file, and each child
// process it starts, runs without colour whether or not the runner was given FORCE_COLOR or a TTY.
import { usePlainEnv } from './env.js';

usePlainEnv();
