/* The control pipe between a dyno's PID 1 (dyno-init, and the launcher's child before it) and
 * the launcher: fixed-size records, each written with one write(2) (atomic below PIPE_BUF). */
#ifndef DYNOHOST_RUNTIME_INIT_PROTO_H
#define DYNOHOST_RUNTIME_INIT_PROTO_H

#include <signal.h>
#include <stdint.h>

/* The fd number the control pipe has in dyno-init. */
#define DYNO_INIT_CTL_FD 3

enum dyno_init_msg_type {
	DYNO_INIT_MSG_ERROR = 1, /* step failed with error (errno) */
	DYNO_INIT_MSG_STARTED,   /* the command runs as value (pid inside the dyno) */
	DYNO_INIT_MSG_EXITED,    /* the command ended: value is its wait status */
};

/* dyno-init's argv: "dyno-init" SCRIPT. The launcher's child blocks these signals from its
 * start and dyno-init reads them from a signalfd, so a stop that comes while the dyno is set up
 * stays pending across the exec. The command starts with none blocked. */
#define DYNO_INIT_SIGNALS { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 }

struct dyno_init_msg {
	uint32_t type;
	int32_t step;  /* enum dyno_step */
	int32_t error; /* positive errno */
	int32_t value;
};

#endif
