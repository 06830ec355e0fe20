import { wireApi } from './wiring';

// Cold start: configuration errors fail here, naming the variable, before any request is served.
export const handler = wireApi(process.env);
