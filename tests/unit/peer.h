/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers for tests that play a peer against a real `ferry receive`
 * server (cmd_receive in a child) on a loopback port. */
#ifndef FERRY_TEST_PEER_H
#define FERRY_TEST_PEER_H

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "cmds.h"

/* A loopback port nobody listens on: bind one, note it, close it. */
static inline struct sockaddr_in peer_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || getsockname(fd, (struct sockaddr *)&sa, &sl))
		sa.sin_port = 0;
	close(fd);
	return sa;
}

/* cmd_receive(argc, argv) in a child, its stderr to /dev/null. */
static inline pid_t peer_start_receiver(int argc, char **argv)
{
	pid_t pid = fork();

	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);

		dup2(nul, 2);
		_exit(cmd_receive(argc, argv));
	}
	return pid;
}

/* Connect, retrying while the server starts: the fd or -1. */
static inline int peer_connect(const struct sockaddr_in *sa)
{
	for (int i = 0; i < 100; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (!connect(fd, (const struct sockaddr *)sa, sizeof(*sa)))
			return fd;
		close(fd);
		usleep(50000);
	}
	return -1;
}

/* Entries of a directory ("." and ".." aside). */
static inline size_t peer_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

/* rm -rf of a test's scratch directory. */
static inline int peer_rmdir(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static inline int peer_stop_receiver(pid_t pid)
{
	int status = 0;

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return status;
}

#endif
