/**
 * What Piscina loads in each pool thread: CommonJS on purpose. Piscina loads its filename
 * with require(), and Node 20's require() of an ES module, when the thread is terminated in
 * the middle of it (a pool closed right after it started), aborts the whole process with
 * "v8::Module::IsGraphAsync must be used on an instantiated module" — seen once in a full
 * test run. A CommonJS file is required plainly; the ES module behind it (worker.ts) is
 * only ever import()ed, on the first task.
 */
const load = () => import('./worker.js').then((m) => m.default);
type Handle = Awaited<ReturnType<typeof load>>;

let handle: Promise<Handle> | undefined;

module.exports = async function run(envelope: Parameters<Handle>[0]): ReturnType<Handle> {
  handle ??= load();
  return (await handle)(envelope);
};
