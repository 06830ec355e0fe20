import { wireFanout } from './wiring';

// Cold start: configuration errors fail here, naming the variable, before any message is taken.
export const handler = wireFanout(process.env);
