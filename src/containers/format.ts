/**
 * `ps` like docker: the daemon's selection (running only unless -a; `--filter status|name|id|
 * ancestor|exited|label|before|since|network|volume|…`; `-n N`, `-l`) and the CLI's formatter over
 * docker's container context (`CONTAINER ID  IMAGE  COMMAND  CREATED  STATUS  PORTS  NAMES`,
 * `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`, COMMAND quoted and cut to 20 characters
 * with `…`, 12-hex ids; `json`, `table …` and Go templates). Pure: records + now in, text out.
 */
import { ellipsis, goTimeString, humanDuration } from '../util/human.js';
import { Filters } from '../util/filters.js';
import { UserError } from '../util/errors.js';
import { GoNil, GoStruct, parseTemplate, executeTemplate, renderFormat, templateUserError } from '../util/template.js';
import type { ContainerRecord } from './records.js';

export { ellipsis };

import { goQuote } from '../util/goquote.js';

export { goQuote };

/** The daemon's Command: the path, then the arguments, those with a space in single quotes. */
export function commandOf(r: ContainerRecord): string {
  const [path = '', ...args] = [...r.config.entrypoint, ...r.config.cmd];
  return args.length ? `${path} ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}` : path;
}

export function statusOf(r: ContainerRecord, now = Date.now()): string {
  const since = (t?: string) => humanDuration(Math.max(0, now - (t ? Date.parse(t) : now)));
  switch (r.state.status) {
    case 'running':
      return `Up ${since(r.state.startedAt)}`;
    case 'exited':
      return `Exited (${r.state.exitCode ?? 0}) ${since(r.state.finishedAt)} ago`;
    default:
      return 'Created';
  }
}

export function createdOf(r: ContainerRecord, now = Date.now()): string {
  return `${humanDuration(Math.max(0, now - Date.parse(r.created)))} ago`;
}

export interface PsOptions {
  all?: boolean;
  quiet?: boolean;
  /** `table` (default), `json` or a Go template */
  format?: string;
  noTrunc?: boolean;
  filters?: Filters;
  /** -n/--last: the N most recently created (any state); -1 = unset */
  last?: number;
  /** -l/--latest */
  latest?: boolean;
  /** the daemon's Image: the name the container was created with, or its image ID when that name moved */
  imageOf?: (r: ContainerRecord) => string;
  /** ancestor=: the image ID (config digest) a reference or ID names, if any */
  resolveImage?: (ref: string) => string | undefined;
}

export const PS_FILTERS = ['ancestor', 'before', 'expose', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume'];
const STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

export const PS_HEADER: Record<string, string> = {
  ID: 'CONTAINER ID',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Platform: 'PLATFORM',
};

const DEFAULT_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** a mount's Source as docker lists it (tmpfs mounts have none) */
const mountSource = (m: ContainerRecord['config']['mounts'][number]): string => ('source' in m ? m.source : '');

/** By full name, full ID or ID prefix, as `before=`/`since=` look a container up. */
function lookup(recs: ContainerRecord[], ref: string): ContainerRecord {
  const name = ref.replace(/^\//, '');
  const c = recs.find((x) => x.id === ref) ?? recs.find((x) => x.name === name) ?? (/^[0-9a-f]+$/.test(ref) ? recs.find((x) => x.id.startsWith(ref)) : undefined);
  if (!c) throw new UserError(`No such container: ${ref}`);
  return c;
}

/** The daemon's container list for these options: newest first. */
export function selectContainers(recs: ContainerRecord[], opts: PsOptions = {}): ContainerRecord[] {
  const f = opts.filters ?? new Filters();
  f.validate(PS_FILTERS);
  const exited = f.get('exited').map((v) => {
    if (!/^[+-]?\d+$/.test(v)) throw new UserError(`invalid filter 'exited=${v}': strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
    return Number(v);
  });
  for (const s of f.get('status')) if (!STATES.includes(s)) throw new UserError(`invalid filter 'status=${s}'`);
  for (const h of f.get('health')) if (!HEALTH.includes(h)) throw new UserError(`unrecognized filter value for health: ${h}`);
  const isTask = f.bool('is-task');
  let before: ContainerRecord | undefined;
  for (const v of f.get('before')) before = lookup(recs, v);
  let since: ContainerRecord | undefined;
  for (const v of f.get('since')) since = lookup(recs, v);
  let limit = opts.last ?? -1;
  if (opts.latest && limit === -1) limit = 1;
  const all = !!opts.all || f.has('status') || limit > 0 || !!before || !!since;
  const ancestors = f.has('ancestor') ? new Set(f.get('ancestor').map((a) => opts.resolveImage?.(a)).filter((x): x is string => !!x)) : undefined;
  const out: ContainerRecord[] = [];
  for (const c of recs) {
    const running = c.state.status === 'running';
    if (!running && !all) continue;
    if (f.has('name') && !f.matchRegexp('name', `/${c.name}`) && !f.matchRegexp('name', c.name)) continue;
    if (f.has('id') && !f.get('id').some((v) => c.id.startsWith(v))) continue;
    if (!f.matchLabels(c.config.labels)) continue;
    if (before && !(c.created < before.created)) continue;
    if (since && !(c.created > since.created)) continue;
    if (exited.length && !(c.state.status === 'exited' && c.state.startedAt && exited.includes(c.state.exitCode ?? 0))) continue;
    if (f.has('status') && !f.get('status').includes(c.state.status)) continue;
    if (ancestors && !ancestors.has(c.config.imageId)) continue;
    if (f.has('network') && !f.get('network').includes(c.config.network)) continue;
    if (f.has('volume') && !f.get('volume').some((v) => c.config.mounts.some((m) => mountSource(m) === v || m.target === v))) continue;
    // no published or exposed ports, health checks, Hyper-V isolation or swarm tasks here
    if (f.has('publish') || f.has('expose')) continue;
    if (f.has('health') && !f.get('health').includes('none')) continue;
    if (f.has('isolation') && !f.get('isolation').includes('default')) continue;
    if (isTask === true) continue;
    out.push(c);
  }
  return limit > 0 ? out.slice(0, limit) : out;
}

/** docker's ContainerContext for one container (`trunc` = not --no-trunc) */
export function containerContext(r: ContainerRecord | undefined, trunc: boolean, now: number, image?: string): GoStruct {
  const labels = r?.config.labels ?? {};
  const created = r ? Date.parse(r.created) : 0;
  const img = image ?? r?.config.image ?? '';
  const truncId = (id: string) => id.replace(/^[^:]*:/, '').slice(0, 12);
  let shownImage = img === '' ? '<no image>' : img;
  if (img && trunc && r && truncId(r.config.imageId) === truncId(img)) shownImage = truncId(img);
  return new GoStruct('*formatter.ContainerContext', {
    ID: r ? (trunc ? r.id.slice(0, 12) : r.id) : '',
    Names: r?.name ?? '',
    Image: shownImage,
    Command: goQuote(r ? (trunc ? ellipsis(commandOf(r), 20) : commandOf(r)) : ''),
    CreatedAt: goTimeString(created),
    RunningFor: `${humanDuration(Math.max(0, now - created))} ago`,
    Ports: '',
    State: r?.state.status ?? '',
    Status: r ? statusOf(r, now) : '',
    Size: '0B',
    Labels: Object.keys(labels).map((k) => `${k}=${labels[k]}`).sort().join(','),
    Label: (name: string) => labels[name] ?? '',
    Mounts: (r?.config.mounts ?? []).map((m) => (trunc ? ellipsis(mountSource(m), 15) : mountSource(m))).join(','),
    LocalVolumes: '0',
    Networks: r?.config.network ?? '',
    Platform: new GoNil('ptr'),
  });
}

/** docker's NewContainerFormat: -q wins over any format; the default table otherwise. */
function psFormat(source: string | undefined, quiet?: boolean): string {
  if (quiet) return '{{.ID}}';
  return !source || source === 'table' ? DEFAULT_TABLE : source;
}

/**
 * The docker CLI runs a user's --format once over an empty context before listing (to see which
 * fields it uses): its errors read `failed to parse template: …` / `failed to execute template: …`.
 */
export function checkPsFormat(format: string | undefined, now = Date.now()): void {
  if (!format) return;
  let tpl;
  try {
    tpl = parseTemplate(format);
  } catch (e) {
    throw templateUserError(e, 'failed to parse template');
  }
  try {
    executeTemplate(tpl, containerContext(undefined, true, now));
  } catch (e) {
    throw templateUserError(e, 'failed to execute template');
  }
}

export function formatPs(recs: ContainerRecord[], opts: PsOptions = {}, now = Date.now()): string {
  checkPsFormat(opts.format, now);
  const shown = selectContainers(recs, opts);
  const trunc = !opts.noTrunc;
  return renderFormat(psFormat(opts.format, opts.quiet), shown.map((r) => containerContext(r, trunc, now, opts.imageOf?.(r))), PS_HEADER);
}
