import { wireDispatcher } from './wiring';

// Cold start: configuration errors fail here, naming the variable; the keep-alive connections and
// the secret and subscription caches live at module scope and outlive one invocation.
export const { handler } = wireDispatcher(process.env);
