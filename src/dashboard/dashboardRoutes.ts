import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ErrorCode, SwitchyardError } from '../errors.js';
import { HttpReply } from '../http/HttpReply.js';
import type { RouteTarget } from '../http/ports.js';
import type { ClusterStats } from './ClusterStats.js';

/** The part of the gateway the dashboard needs. */
export type DashboardRouteTarget = RouteTarget;

interface Asset {
  readonly body: string;
  readonly type: string;
}

const STATIC = new URL('./static/', import.meta.url);
const require = createRequire(import.meta.url);

/** Read once at start: the dashboard is a handful of small files, and a missing one should fail the start, not a request. */
function loadAssets(): Map<string, Asset> {
  const own = (name: string, type: string): Asset => ({ body: readFileSync(new URL(name, STATIC), 'utf8'), type });
  const vendor = (name: string, type: string): Asset => ({ body: readFileSync(require.resolve(`uplot/dist/${name}`), 'utf8'), type });
  return new Map([
    ['index.html', own('index.html', 'text/html; charset=utf-8')],
    ['app.js', own('app.js', 'text/javascript; charset=utf-8')],
    ['app.css', own('app.css', 'text/css; charset=utf-8')],
    ['uPlot.iife.min.js', vendor('uPlot.iife.min.js', 'text/javascript; charset=utf-8')],
    ['uPlot.min.css', vendor('uPlot.min.css', 'text/css; charset=utf-8')],
  ]);
}

/**
 * `GET /` (the dashboard page), `GET /dashboard/<file>` (its script, styles and uPlot)
 * and `GET /api/stats` (admin only; `?history=1` adds the last five minutes).
 * The page itself is public — it holds no data; every figure comes from `/api/stats`
 * with the admin token the operator typed in.
 */
export function registerDashboardRoutes(target: DashboardRouteTarget, sampler: ClusterStats): void {
  const assets = loadAssets();
  const serve = (name: string): HttpReply => {
    const asset = assets.get(name);
    if (!asset) throw new SwitchyardError(ErrorCode.NOT_FOUND, `no dashboard file ${name}`);
    return HttpReply.text(200, asset.body, asset.type);
  };
  target.route('GET', '/', () => serve('index.html'), { auth: 'none' });
  target.route('GET', '/dashboard', () => serve('index.html'), { auth: 'none' });
  target.route('GET', '/dashboard/:file', ({ params }) => serve(params.file!), { auth: 'none' });
  target.route('GET', '/api/stats', async ({ principal, query }) => {
    if (principal?.role !== 'admin') throw new SwitchyardError(ErrorCode.FORBIDDEN, 'the cluster stats are for admins');
    const history = query.get('history');
    return sampler.view({ history: history === '1' || history === 'true' });
  });
}
