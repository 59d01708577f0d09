// Memory and vCPUs of RDS instance classes, so the parameter group can be tuned to the machine.
// Classes outside this table need `memoryMb` and `cpus` in the stack config.

export interface MachineSize {
  memoryMb: number;
  cpus: number;
}

// GiB of memory per vCPU for the general-purpose (m) and memory-optimized (r, x2g) families.
const GIB_PER_VCPU: Record<string, number> = {
  m5: 4,
  m6g: 4,
  m6gd: 4,
  m6i: 4,
  m7g: 4,
  m7i: 4,
  r5: 8,
  r6g: 8,
  r6gd: 8,
  r6i: 8,
  r7g: 8,
  r7i: 8,
  x2g: 16,
};

// Burstable classes do not follow a per-vCPU ratio.
const BURSTABLE: Record<string, MachineSize> = {
  micro: { memoryMb: 1024, cpus: 2 },
  small: { memoryMb: 2048, cpus: 2 },
  medium: { memoryMb: 4096, cpus: 2 },
  large: { memoryMb: 8192, cpus: 2 },
  xlarge: { memoryMb: 16384, cpus: 4 },
  "2xlarge": { memoryMb: 32768, cpus: 8 },
};

const CLASS_PATTERN = /^db\.([a-z0-9]+)\.([a-z0-9]+)$/;

/** vCPUs of a size name: large 2, xlarge 4, Nxlarge 4N. */
function sizeCpus(size: string): number | undefined {
  if (size === "large") return 2;
  if (size === "xlarge") return 4;
  const match = /^(\d+)xlarge$/.exec(size);
  return match ? Number(match[1]) * 4 : undefined;
}

/** The size of `db.<family>.<size>`, or undefined when the class is not in the table. */
export function instanceClassSize(instanceClass: string): MachineSize | undefined {
  const match = CLASS_PATTERN.exec(instanceClass);
  if (!match) return undefined;
  const [, family = "", size = ""] = match;
  if (family === "t3" || family === "t4g") return BURSTABLE[size];
  const ratio = GIB_PER_VCPU[family];
  const cpus = sizeCpus(size);
  if (ratio === undefined || cpus === undefined) return undefined;
  return { memoryMb: cpus * ratio * 1024, cpus };
}
