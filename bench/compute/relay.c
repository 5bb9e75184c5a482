/* SPDX-License-Identifier: Apache-2.0 */
/* User-space UDP fan-out relay, the baseline of Fig. 7: one socket in, every datagram sent to each
 * of up to 256 consumers (recvmmsg a batch, sendmmsg the copies). Runs until SIGTERM or SIGINT,
 * then prints the copies it sent. Its CPU is the replication's cost in user space. Usage: relay
 * PORT DST_IP:PORT [DST_IP:PORT ...]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH	  16  /* datagrams per recvmmsg */
#define MAX_DST	  256 /* consumers */
#define DGRAM_MAX 2048

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc - 2 > MAX_DST) {
		fprintf(stderr, "usage: %s PORT DST:PORT... (at most %d)\n", argv[0], MAX_DST);
		return 2;
	}
	int ndst = argc - 2;
	static struct sockaddr_in dst[MAX_DST];
	for (int i = 0; i < ndst; i++) {
		char host[64];
		snprintf(host, sizeof(host), "%s", argv[2 + i]);
		char *colon = strchr(host, ':');
		if (!colon)
			return 2;
		*colon = 0;
		dst[i].sin_family = AF_INET;
		dst[i].sin_port = htons(atoi(colon + 1));
		if (inet_pton(AF_INET, host, &dst[i].sin_addr) != 1)
			return 2;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
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
	unsigned long copies = 0, failed = 0;
	while (!stop) {
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
		copies += off;
	}
	printf("%lu %lu\n", copies, failed);
	return 0;
}
