import autocannon from 'autocannon';

/**
 * The flood of bench/ingest.ts, in a process of its own: a scanner's calls come from elsewhere,
 * so they must not share the event loop of the load generator whose latencies are measured.
 * Prints `flooding` as it starts, then its totals and its own CPU time as one JSON line.
 *
 *   tsx bench/flood.ts <url> <connections> <seconds> <source address> [calls per second, 0: as fast as it can]  (the body on stdin)
 */
async function main(): Promise<void> {
  const [url, connections, seconds, source, rate = '0'] = process.argv.slice(2);
  if (url === undefined || source === undefined) throw new Error('usage: flood.ts <url> <connections> <seconds> <source address>');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const cpuBefore = process.cpuUsage();
  const flooding = autocannon({
    url,
    connections: Number(connections),
    ...(Number(rate) > 0 ? { overallRate: Number(rate) } : {}),
    duration: Number(seconds),
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': source },
    body: Buffer.concat(chunks).toString('utf8'),
  });
  process.stdout.write('flooding\n');
  const result = await flooding;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(`${JSON.stringify({ total: result.requests.total, average: result.requests.average, non2xx: result.non2xx, cpuMs })}\n`);
}

void main();
