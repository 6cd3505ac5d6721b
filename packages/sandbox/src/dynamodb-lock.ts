import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  linkSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * Ownership of a persistent DynamoDB Local data directory: `<dataDir>/lcm-dynamodb.json` names
 * the process that started DynamoDB Local there (the owner, e.g. `npm start`) and the JVM it
 * started (pid, port, start time, command line). A second start on the directory
 *   - is refused while the owner lives (two JVMs on one database file corrupt it);
 *   - stops the JVM an owner that died without stopping it (`kill -9`) left behind, once it has
 *     checked the pid is still that JVM (same start time, DynamoDBLocal with `-dbPath <dataDir>`);
 *   - replaces a record whose processes are all gone.
 * A DynamoDB Local on the directory that no record names is not ours to stop: the start is
 * refused and names its pid. Identity is the pid plus the kernel's start time, so a pid the
 * system reused is never taken for the recorded process.
 */

export const DATA_DIR_LOCK_FILE = 'lcm-dynamodb.json';

const ORPHAN_STOP_GRACE_MS = 5000;
const ORPHAN_KILL_WAIT_MS = 3000;

interface ProcessIdentity {
  pid: number;
  /** When the process started (Linux: clock ticks since boot; elsewhere ps's lstart). */
  startTime: string;
}

export interface DataDirRecord {
  id: string;
  dataDir: string;
  owner: ProcessIdentity & { command: string };
  dynamodb?: ProcessIdentity & { port: number; command: string };
  startedAt: string;
}

export class DataDirInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirClaim {
  readonly path: string;
  /** Records the JVM started on the directory. */
  recordDynamoDb(pid: number, port: number): void;
  /** Removes the record if it is still this claim's; synchronous so exit handlers can call it. */
  release(): void;
}

/**
 * Claims `dataDir` for this process, first stopping an orphan JVM a dead owner left there; throws
 * DataDirInUseError when a live owner (or an unrecorded DynamoDB Local) uses it.
 */
export async function claimDataDir(dataDir: string, log: (line: string) => void): Promise<DataDirClaim> {
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  const self = identify(process.pid);
  const record: DataDirRecord = {
    id: randomUUID(),
    dataDir,
    owner: { pid: process.pid, startTime: self?.startTime ?? '', command: process.argv.join(' ') },
    startedAt: new Date().toISOString(),
  };

  for (let attempt = 0; ; attempt++) {
    if (createExclusively(path, record)) break;
    if (attempt >= 5) throw new DataDirInUseError(`${dataDir} is being claimed by another start; try again`);
    const text = readText(path);
    if (text === undefined) continue; // removed meanwhile
    const found = parseRecord(text);
    if (found && isSameProcess(found.owner)) {
      const db = found.dynamodb;
      throw new DataDirInUseError(
        `${dataDir} is in use by the local stack pid ${found.owner.pid}` +
          (db ? ` (DynamoDB Local pid ${db.pid}, port ${db.port})` : ' (DynamoDB Local starting)') +
          '; stop it first or use another state directory (LCM_STATE_DIR)',
      );
    }
    const orphan = found?.dynamodb;
    if (orphan && isSameProcess(orphan) && isDynamoDbLocalOn(orphan.pid, dataDir)) {
      const how = await stopProcess(orphan.pid);
      log(
        `DynamoDB Local: stopped the orphan DynamoDB Local pid ${orphan.pid} (port ${orphan.port}, ${how}) ` +
          `that local stack pid ${found.owner.pid}, now gone, left on ${dataDir}`,
      );
    }
    removeIfUnchanged(path, text);
  }

  const claim: DataDirClaim = {
    path,
    recordDynamoDb(pid, port) {
      const jvm = identify(pid);
      record.dynamodb = {
        pid,
        port,
        startTime: jvm?.startTime ?? '',
        command: commandLine(pid)?.join(' ') ?? '',
      };
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
      renameSync(tmp, path);
    },
    release() {
      const text = readText(path);
      if (text !== undefined && parseRecord(text)?.id === record.id) removeIfUnchanged(path, text);
    },
  };

  // The record is ours now; a JVM on the directory that no record named is someone else's.
  const strangers = dynamoDbLocalPidsOn(dataDir);
  if (strangers.length > 0) {
    claim.release();
    throw new DataDirInUseError(
      `${dataDir} is in use by DynamoDB Local pid ${strangers.join(', ')}, which no local stack started ` +
        `(no ${DATA_DIR_LOCK_FILE} names it); stop it (kill ${strangers.join(' ')}) or use another state directory`,
    );
  }
  return claim;
}

/** Writes the record only if no file is there: the whole text appears at once (link is atomic). */
function createExclusively(path: string, record: DataDirRecord): boolean {
  const tmp = `${path}.${process.pid}.${record.id}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * Removes the record if it still has `text`: moved aside first, so a record another start wrote
 * in the meantime is put back instead of deleted.
 */
function removeIfUnchanged(path: string, text: string): void {
  const aside = `${path}.${process.pid}.${randomUUID()}.old`;
  try {
    renameSync(path, aside);
  } catch {
    return; // already gone
  }
  if (readText(aside) !== text) {
    try {
      linkSync(aside, path);
    } catch {
      // a third start claimed it meanwhile; its record stays
    }
  }
  unlinkSync(aside);
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function parseRecord(text: string): DataDirRecord | undefined {
  try {
    const value = JSON.parse(text) as DataDirRecord;
    return typeof value?.owner?.pid === 'number' ? value : undefined;
  } catch {
    return undefined; // unreadable: treated as stale
  }
}

const LINUX = existsSync('/proc/self/stat');

/** Pid and start time of a live (non-zombie) process, or undefined. */
function identify(pid: number): ProcessIdentity | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (LINUX) {
    const stat = readText(`/proc/${pid}/stat`);
    const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (!fields || fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return { pid, startTime: fields[19] ?? '' };
  }
  const ps = spawnSync('ps', ['-p', String(pid), '-o', 'stat=', '-o', 'lstart='], { encoding: 'utf8' });
  const out = ps.stdout?.trim();
  if (!out || out.startsWith('Z')) return undefined;
  return { pid, startTime: out.slice(out.indexOf(' ') + 1).trim() };
}

const isSameProcess = (recorded: ProcessIdentity): boolean => {
  const now = identify(recorded.pid);
  return now !== undefined && (recorded.startTime === '' || now.startTime === recorded.startTime);
};

function commandLine(pid: number): string[] | undefined {
  if (LINUX) return readText(`/proc/${pid}/cmdline`)?.split('\0').filter(Boolean);
  const out = spawnSync('ps', ['-p', String(pid), '-o', 'args='], { encoding: 'utf8' }).stdout?.trim();
  return out ? out.split(' ') : undefined;
}

/** DynamoDB Local's JVM with `-dbPath <dataDir>` (the launcher passes the resolved path). */
function isDynamoDbLocalOn(pid: number, dataDir: string): boolean {
  const args = commandLine(pid);
  if (!args?.some((a) => a.includes('DynamoDBLocal'))) return false;
  if (LINUX) return args[args.indexOf('-dbPath') + 1] === dataDir && args.includes('-dbPath');
  return ` ${args.join(' ')} `.includes(` -dbPath ${dataDir} `); // ps splits paths with spaces
}

function dynamoDbLocalPidsOn(dataDir: string): number[] {
  const pids = LINUX
    ? readdirSync('/proc')
        .filter((e) => /^\d+$/.test(e))
        .map(Number)
    : (spawnSync('ps', ['-A', '-o', 'pid='], { encoding: 'utf8' }).stdout ?? '')
        .split('\n')
        .map((l) => Number(l.trim()))
        .filter((n) => n > 0);
  return pids.filter((pid) => pid !== process.pid && isDynamoDbLocalOn(pid, dataDir) && identify(pid));
}

/** SIGTERM (to its process group when it leads one), SIGKILL after a grace period. */
async function stopProcess(pid: number): Promise<'SIGTERM' | 'SIGKILL'> {
  const target = leadsGroup(pid) ? -pid : pid;
  const send = (signal: NodeJS.Signals) => {
    try {
      process.kill(target, signal);
    } catch {
      // gone already
    }
  };
  const gone = async (withinMs: number): Promise<boolean> => {
    const deadline = Date.now() + withinMs;
    while (identify(pid)) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return true;
  };
  send('SIGTERM');
  if (await gone(ORPHAN_STOP_GRACE_MS)) return 'SIGTERM';
  send('SIGKILL');
  if (await gone(ORPHAN_KILL_WAIT_MS)) return 'SIGKILL';
  throw new DataDirInUseError(`the orphan DynamoDB Local pid ${pid} did not exit after SIGKILL`);
}

function leadsGroup(pid: number): boolean {
  if (LINUX) {
    const stat = readText(`/proc/${pid}/stat`);
    return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[2] === String(pid);
  }
  const out = spawnSync('ps', ['-p', String(pid), '-o', 'pgid='], { encoding: 'utf8' }).stdout?.trim();
  return out === String(pid);
}
