/**
 * Why this Node cannot run the agent, from package.json's `engines.node` (">=major.minor"), or
 * undefined when it can. Checked at start: an older Node fails later and worse (a gzip /metrics page
 * needs zlib.crc32, Node 20.15).
 */
export function nodeTooOld(running: string, required: string): string | undefined {
  const [major = 0, minor = 0] = (/^>=\s*(\d+)(?:\.(\d+))?/.exec(required)?.slice(1) ?? []).map((part) => Number(part ?? 0));
  const [runningMajor = 0, runningMinor = 0] = running.split('.').map(Number);
  if (runningMajor > major || (runningMajor === major && runningMinor >= minor)) return undefined;
  return `potencia: needs Node.js ${major}.${minor} or newer; this is Node.js ${running}`;
}
