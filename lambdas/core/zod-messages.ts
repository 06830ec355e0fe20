import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * zod/mini ships without messages ("Invalid input" for everything); this gives it classic zod's
 * English ones, so a refused message reads the same whichever flavour checked it. Imported for
 * its effect by every module that builds zod/mini schemas.
 */
config(en());
