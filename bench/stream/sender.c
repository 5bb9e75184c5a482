/* SPDX-License-Identifier: Apache-2.0 */
/* UDP blaster for the stream benchmark: sends the datagrams of a payload file (each
 * 1316 bytes, i.e. 7 TS packets) round-robin to one address with sendmmsg, for a
 * duration. Prints the datagrams sent. Usage: sender DST_IP PORT PAYLOAD_FILE SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DGRAM 1316 /* 7 TS packets */
#define BATCH 64   /* datagrams per sendmmsg */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s DST_IP PORT PAYLOAD_FILE SECONDS\n", argv[0]);
		return 2;
	}
	FILE *f = fopen(argv[3], "rb");
	if (!f) {
		perror("payload");
		return 1;
	}
	static char data[64 << 20];
	size_t n = fread(data, 1, sizeof(data), f);
	fclose(f);
	size_t count = n / DGRAM;
	if (count == 0) {
		fprintf(stderr, "payload file too short\n");
		return 1;
	}
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	int sndbuf = 8 << 20;
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
	inet_pton(AF_INET, argv[1], &dst.sin_addr);
	if (connect(s, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		perror("connect");
		return 1;
	}
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	double end = now() + atof(argv[4]);
	unsigned long sent = 0;
	size_t next = 0;
	while (now() < end) {
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = data + (next % count) * DGRAM;
			iov[i].iov_len = DGRAM;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			next++;
		}
		int r = sendmmsg(s, msgs, BATCH, 0);
		if (r > 0)
			sent += r;
	}
	printf("%lu\n", sent);
	return 0;
}
