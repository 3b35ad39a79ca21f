/* UDP flood for bench:kernel and the kernel ingest test: every packet opens a new conntrack entry.
 *
 * One raw socket (IPPROTO_RAW, headers built here) and sendmmsg() in batches, so a single core reaches
 * well over 100k new flows/s. Each packet comes from a fresh (source address, source port) pair taken
 * from SRC_BASE/16 x ports 1024-65023; packets alternate between two destinations (a ClusterIP that the
 * namespace DNATs, and a plain address). Paced to RATE packets/s (0: as fast as possible).
 *
 * usage: udp-flood COUNT RATE SRC_BASE DST_A PORT_A DST_B PORT_B
 * prints one line: "sent=N seconds=S rate=R"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define PAYLOAD 8
#define PORT_LO 1024
#define PORTS 64000

struct pkt {
  struct iphdr ip;
  struct udphdr udp;
  char payload[PAYLOAD];
} __attribute__((packed));

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t) {
  double d = t - now_s();
  if (d <= 0) return;
  struct timespec ts = {(time_t)d, (long)((d - (time_t)d) * 1e9)};
  nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: %s COUNT RATE SRC_BASE DST_A PORT_A DST_B PORT_B\n", argv[0]);
    return 2;
  }
  long count = atol(argv[1]);
  double rate = atof(argv[2]);
  struct in_addr src_base, dst[2];
  uint16_t dport[2] = {(uint16_t)atoi(argv[5]), (uint16_t)atoi(argv[7])};
  if (count <= 0 || count > 65536L * PORTS || rate < 0 || !inet_aton(argv[3], &src_base) ||
      !inet_aton(argv[4], &dst[0]) || !inet_aton(argv[6], &dst[1]) || !dport[0] || !dport[1]) {
    fprintf(stderr, "udp-flood: bad arguments\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) {
    perror("udp-flood: socket(SOCK_RAW)");
    return 1;
  }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  static struct pkt pkts[BATCH];
  static struct sockaddr_in to[BATCH];
  static struct iovec iov[BATCH];
  static struct mmsghdr msgs[BATCH];
  uint32_t base = ntohl(src_base.s_addr) & 0xffff0000u;

  /* Pacing: batches small enough that 1k/s is not bursty (about 1 ms of traffic each). */
  int batch = rate > 0 ? (int)(rate / 1000) : BATCH;
  if (batch < 1) batch = 1;
  if (batch > BATCH) batch = BATCH;

  double start = now_s();
  long sent = 0;
  while (sent < count) {
    int n = count - sent < batch ? (int)(count - sent) : batch;
    for (int i = 0; i < n; i++) {
      long k = sent + i;
      int d = (int)(k & 1);
      struct pkt *p = &pkts[i];
      memset(p, 0, sizeof *p);
      p->ip.version = 4;
      p->ip.ihl = 5;
      p->ip.ttl = 64;
      p->ip.protocol = IPPROTO_UDP;
      p->ip.tot_len = htons(sizeof *p);
      p->ip.saddr = htonl(base + 1 + (uint32_t)(k / PORTS));
      p->ip.daddr = dst[d].s_addr;
      p->udp.source = htons((uint16_t)(PORT_LO + k % PORTS));
      p->udp.dest = htons(dport[d]);
      p->udp.len = htons(sizeof(struct udphdr) + PAYLOAD);
      memcpy(p->payload, "ctscope", PAYLOAD);
      memset(&to[i], 0, sizeof to[i]);
      to[i].sin_family = AF_INET;
      to[i].sin_addr = dst[d];
      iov[i].iov_base = p;
      iov[i].iov_len = sizeof *p;
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &to[i];
      msgs[i].msg_hdr.msg_namelen = sizeof to[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(fd, msgs, (unsigned)n, 0);
    if (r < 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) continue;
      perror("udp-flood: sendmmsg");
      return 1;
    }
    sent += r;
    if (rate > 0) sleep_until(start + sent / rate);
  }
  double secs = now_s() - start;
  printf("sent=%ld seconds=%.3f rate=%.0f\n", sent, secs, sent / (secs > 0 ? secs : 1e-9));
  return 0;
}
