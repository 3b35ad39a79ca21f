/** Whether an address lies in any of a list of CIDRs or addresses (loadBalancerSourceRanges, pod CIDRs). */
import ipaddr from 'ipaddr.js';

/** True when `ip` is inside one of `ranges` (`10.0.0.0/8`, `fd00::/56`, or a bare address). Bad input never matches. */
export function addressInRanges(ip: string, ranges: readonly string[]): boolean {
  if (!ipaddr.isValid(ip)) return false;
  const addr = ipaddr.process(ip);
  for (const range of ranges) {
    try {
      if (range.includes('/')) {
        const [net, bits] = ipaddr.parseCIDR(range);
        if (net.kind() === addr.kind() && addr.match(net, bits)) return true;
      } else if (ipaddr.isValid(range)) {
        const other = ipaddr.process(range);
        if (other.kind() === addr.kind() && other.toNormalizedString() === addr.toNormalizedString())
          return true;
      }
    } catch {
      // not a range: skip it
    }
  }
  return false;
}
