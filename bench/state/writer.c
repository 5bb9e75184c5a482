/* SPDX-License-Identifier: Apache-2.0 */
/* Paced writer for the sustained-capture benchmark: RATE write(2) calls per
 * second of SIZE bytes each, for SECONDS, appending to PATH (reopened with
 * O_TRUNC every 64 MiB so the file stays small). Prints the ops it made. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS	     1000000L /* pacing granularity: 1 ms */
#define REOPEN_BYTES (64L << 20)

static long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: writer PATH RATE SECONDS SIZE\n");
		return 2;
	}
	const char *path = argv[1];
	long rate = atol(argv[2]), seconds = atol(argv[3]), size = atol(argv[4]);
	char *buf = malloc(size);
	memset(buf, 'w', size);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	long start = now_ns(), end = start + seconds * 1000000000L, done = 0, bytes = 0;
	for (;;) {
		long t = now_ns();
		if (t >= end)
			break;
		long due = (long)((double)(t - start) * rate / 1e9);
		while (done < due) {
			if (write(fd, buf, size) != size)
				return 1;
			done++;
			bytes += size;
			if (bytes >= REOPEN_BYTES) {
				close(fd);
				fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
				bytes = 0;
			}
		}
		struct timespec ts = {0, TICK_NS / 4};
		nanosleep(&ts, NULL);
	}
	close(fd);
	printf("%ld %.3f\n", done, (now_ns() - start) / 1e9);
	return 0;
}
