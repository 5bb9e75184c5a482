// SPDX-License-Identifier: Apache-2.0
/*
 * The pod sandbox's only process: holds the pod's namespaces, reaps orphans
 * (it is PID 1 of a pod that shares its PID namespace) and exits on SIGINT or
 * SIGTERM. Built static (gcc -static) so its image needs no libc.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig)
{
	(void)sig;
	_exit(0);
}

static void reap(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
}

int main(void)
{
	struct sigaction sa = {0};

	sa.sa_handler = quit;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = reap;
	sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	for (;;)
		pause();
	return EXIT_FAILURE;
}
