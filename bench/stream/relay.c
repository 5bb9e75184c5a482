/* SPDX-License-Identifier: Apache-2.0 */
/* Batched user-space UDP fan-out relay (the baseline): one socket in, N destinations.
 * recvmmsg a batch, sendmmsg each datagram to every destination. Runs SECONDS, or with 0
 * until SIGTERM or SIGINT; then prints the copies sent and the copies it failed to send.
 * Usage: relay PORT SECONDS DST_IP:PORT [DST_IP:PORT ...]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define BATCH	  64  /* datagrams per recvmmsg */
#define MAX_DST	  256 /* destinations */
#define DGRAM_MAX 2048

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s PORT SECONDS DST:PORT...\n", argv[0]);
		return 2;
	}
	int ndst = argc - 3;
	if (ndst > MAX_DST)
		ndst = MAX_DST;
	static struct sockaddr_in dst[MAX_DST];
	for (int i = 0; i < ndst; i++) {
		char host[64];
		strncpy(host, argv[3 + i], sizeof(host) - 1);
		host[sizeof(host) - 1] = 0;
		char *colon = strchr(host, ':');
		if (!colon)
			return 2;
		*colon = 0;
		memset(&dst[i], 0, sizeof(dst[i]));
		dst[i].sin_family = AF_INET;
		dst[i].sin_port = htons(atoi(colon + 1));
		inet_pton(AF_INET, host, &dst[i].sin_addr);
	}
	int in = socket(AF_INET, SOCK_DGRAM, 0);
	int out = socket(AF_INET, SOCK_DGRAM, 0);
	int buf = 16 << 20;
	setsockopt(in, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(out, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
	if (bind(in, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("bind");
		return 1;
	}
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	setsockopt(in, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	static char bufs[BATCH][DGRAM_MAX];
	static struct mmsghdr rx[BATCH], tx[BATCH * MAX_DST];
	static struct iovec rxiov[BATCH], txiov[BATCH * MAX_DST];
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	double secs = atof(argv[2]);
	unsigned long relayed = 0, failed = 0;
	while (!stop) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (secs > 0 && (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > secs)
			break;
		for (int i = 0; i < BATCH; i++) {
			rxiov[i].iov_base = bufs[i];
			rxiov[i].iov_len = DGRAM_MAX;
			memset(&rx[i].msg_hdr, 0, sizeof(rx[i].msg_hdr));
			rx[i].msg_hdr.msg_iov = &rxiov[i];
			rx[i].msg_hdr.msg_iovlen = 1;
		}
		int r = recvmmsg(in, rx, BATCH, MSG_WAITFORONE, NULL);
		if (r <= 0)
			continue;
		int m = 0;
		for (int i = 0; i < r; i++) {
			for (int d = 0; d < ndst; d++) {
				txiov[m].iov_base = bufs[i];
				txiov[m].iov_len = rx[i].msg_len;
				memset(&tx[m].msg_hdr, 0, sizeof(tx[m].msg_hdr));
				tx[m].msg_hdr.msg_name = &dst[d];
				tx[m].msg_hdr.msg_namelen = sizeof(dst[d]);
				tx[m].msg_hdr.msg_iov = &txiov[m];
				tx[m].msg_hdr.msg_iovlen = 1;
				m++;
			}
		}
		int off = 0;
		while (off < m) {
			int w = sendmmsg(out, tx + off, m - off, 0);
			if (w <= 0) {
				failed += m - off;
				break;
			}
			off += w;
		}
		relayed += off;
	}
	printf("%lu %lu\n", relayed, failed);
	return 0;
}
