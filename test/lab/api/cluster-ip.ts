/** ClusterIP allocation from the service CIDR (10.96.0.0/16, kubeadm's default), as the API server's allocator. */
import { ApiError } from './status.js';

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** ClusterIPs come from 10.96.0.0/16, as kubeadm's default service CIDR. */
export class ClusterIPAllocator {
  private readonly used = new Set<string>();
  private readonly base = ipToNumber('10.96.0.0');
  private next = 1;

  reserve(ip: string): void {
    this.used.add(ip);
  }

  allocate(requested: string | undefined, service: string): string {
    if (requested !== undefined) {
      const n = ipToNumber(requested);
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(requested) || n < this.base || n >= this.base + 65536) {
        throw ApiError.invalid('Service', '', service.split('/')[1] ?? service, [
          { reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: ${JSON.stringify([requested])}: failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is 10.96.0.0/16` },
        ]);
      }
      if (this.used.has(requested)) {
        throw ApiError.invalid('Service', '', service.split('/')[1] ?? service, [
          { reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: ${JSON.stringify([requested])}: failed to allocate IP ${requested}: provided IP is already allocated` },
        ]);
      }
      this.used.add(requested);
      return requested;
    }
    for (let i = 0; i < 65534; i++) {
      const candidate = numberToIp(this.base + this.next);
      this.next = (this.next % 65533) + 1;
      if (!this.used.has(candidate)) {
        this.used.add(candidate);
        return candidate;
      }
    }
    throw new ApiError(500, 'InternalError', 'Internal error occurred: range is full');
  }

  release(ip: string): void {
    this.used.delete(ip);
  }
}
