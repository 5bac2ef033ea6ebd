/**
 * Names of the in-thread models, apart from the code that loads them: the main thread
 * needs the names (vector space ids) but must never import TF.js (tens of MB of RSS).
 */

/** Universal Sentence Encoder lite (offline, weights inside the package). */
export const LOCAL_DIMENSIONS = 512;
export const LOCAL_MODEL_NAME = 'universal-sentence-encoder-lite';
