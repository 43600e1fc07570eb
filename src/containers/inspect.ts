/**
 * `container inspect`: a container record as docker's ContainerJSON (the fields stagecraft has:
 * Id, Created, Path, Args, State, Image, Name "/name", LogPath, HostConfig, Mounts, Config,
 * NetworkSettings.Networks). Nil slices and maps are typed nils, so `{{.Config.Entrypoint}}`
 * prints `[]` and JSON has `null`, as docker's. Pure given the store paths.
 */
import type { Store } from '../store/index.js';
import { GoNil } from '../util/template.js';
import { containerDir, logPath, upperDir, type ContainerRecord } from './records.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';
const slice = <T>(l: T[]): T[] | GoNil => (l.length ? l : new GoNil('slice'));

export function inspectContainer(store: Store, r: ContainerRecord): Record<string, unknown> {
  const c = r.config;
  const [path = '', ...args] = [...c.entrypoint, ...c.cmd];
  const running = r.state.status === 'running';
  const binds = c.mounts.flatMap((m) => ('source' in m ? [`${m.source}:${m.target}${m.readonly ? ':ro' : ''}`] : []));
  const labels = Object.fromEntries(Object.entries(c.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    Id: r.id,
    Created: r.created,
    Path: path,
    Args: args,
    State: {
      Status: r.state.status,
      Running: running,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? (r.state.pid ?? 0) : 0,
      ExitCode: r.state.exitCode ?? 0,
      Error: '',
      StartedAt: r.state.startedAt ?? ZERO_TIME,
      FinishedAt: r.state.finishedAt ?? ZERO_TIME,
    },
    Image: c.imageId,
    LogPath: logPath(store, r.id),
    Name: `/${r.name}`,
    RestartCount: 0,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: new GoNil('slice'),
    HostConfig: {
      Binds: slice(binds),
      NetworkMode: c.network,
      AutoRemove: c.autoRemove,
      ReadonlyRootfs: c.readOnly,
      Runtime: c.runtime,
    },
    GraphDriver: { Data: { UpperDir: upperDir(store, r.id), WorkDir: containerDir(store, r.id) }, Name: 'overlay' },
    Mounts: c.mounts.map((m) =>
      'source' in m
        ? { Type: 'bind', Source: m.source, Destination: m.target, Mode: m.readonly ? 'ro' : '', RW: !m.readonly, Propagation: 'rprivate' }
        : { Type: 'tmpfs', Source: '', Destination: m.target, Mode: '', RW: true, Propagation: '' },
    ),
    Config: {
      Hostname: c.hostname,
      Domainname: '',
      User: c.user,
      AttachStdin: c.interactive,
      AttachStdout: true,
      AttachStderr: true,
      Tty: c.tty,
      OpenStdin: c.interactive,
      StdinOnce: c.interactive,
      Env: slice(c.env),
      Cmd: slice(c.cmd),
      Image: c.image,
      Volumes: new GoNil('map'),
      WorkingDir: c.cwd,
      Entrypoint: slice(c.entrypoint),
      OnBuild: new GoNil('slice'),
      Labels: labels,
      ...(c.stopSignal ? { StopSignal: c.stopSignal } : {}),
    },
    NetworkSettings: { Networks: { [c.network]: {} } },
  };
}
