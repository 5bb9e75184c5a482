/* SPDX-License-Identifier: Apache-2.0 */
/* Per-call cost as a process pays it: N one-byte write(2) to /dev/null, then N
 * getppid(2) (a syscall the capture has no program for). Prints the mean ns
 * per call of each: "write_ns getppid_ns". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	int fd = open("/dev/null", O_WRONLY);
	if (fd < 0)
		return 1;
	char c = 'x';
	double t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (write(fd, &c, 1) != 1)
			return 1;
	double t1 = now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid); /* not the vDSO or a libc cache */
	double t2 = now_ns();
	printf("%.1f %.1f\n", (t1 - t0) / n, (t2 - t1) / n);
	return 0;
}
