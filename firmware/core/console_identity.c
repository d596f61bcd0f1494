/*
 * identity (docs/console.md, "Commands"): the gateway key's fingerprint and
 * a CSR for the fleet, as `wattgate --identity` prints them.
 *
 * The daemon keeps the key code out of its own memory (identity_run.c: a
 * child checks the key at start), and a CSR is a signature: so this runs
 * the daemon's own binary with --identity in a child, reads its output
 * from a pipe on the loop and answers when it is complete (CCMD_LATER).
 * One at a time for the whole console: a second asks again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "firmware/base/kconfig.h"
#include "firmware/base/log.h"
#include "firmware/core/console_info.h"
#include "firmware/core/console_srv.h"
#include "firmware/core/gateway_internal.h"

extern char **environ;

#define OUT_MAX		8192	/* a CSR (~500 bytes), a fingerprint, a note */
#define PEM_BEGIN	"-----BEGIN CERTIFICATE REQUEST-----"
#define PEM_END		"-----END CERTIFICATE REQUEST-----\n"
#define FP_TAG		"fingerprint: sha256:"

struct console_idjob {
	struct console_ticket t;
	int active;		/* a client waits for the answer */
	pid_t pid;
	int fd;			/* the child's stdout and stderr; -1: closed */
	char out[OUT_MAX + 1];
	size_t len;
};

static void
close_pipe(struct console *cs, struct console_idjob *j)
{
	if (j->fd < 0)
		return;
	loop_del(cs->g->loop, j->fd);
	close(j->fd);
	j->fd = -1;
}

/*
 * The job is over (answered or canceled): forgotten at once, so the next
 * identity can start; its child, if it has not exited yet, is reaped by the
 * tick (a child the daemon never waits for would stay a zombie).
 */
static void
job_free(struct console *cs)
{
	struct console_srv *srv = cs->srv;
	struct console_idjob *j = srv->idjob;
	size_t i;
	int st;

	close_pipe(cs, j);
	if (j->pid > 0 && waitpid(j->pid, &st, WNOHANG) == 0) {
		for (i = 0; i < CONSOLE_ZOMBIES && srv->zombies[i] > 0; i++)
			;
		if (i < CONSOLE_ZOMBIES)
			srv->zombies[i] = j->pid;
		else	/* four stuck children: this one is waited for */
			while (waitpid(j->pid, &st, 0) == -1 && errno == EINTR)
				;
	}
	free(j);
	srv->idjob = NULL;
}

/* The child's output made into the answer. */
static void
answer(struct console *cs, struct console_idjob *j)
{
	struct console_client *cl = console_ticket_client(cs, &j->t);
	char *begin, *end, *fp, *nl, fingerprint[80], *last;

	j->out[j->len] = '\0';
	begin = strstr(j->out, PEM_BEGIN);
	end = begin != NULL ? strstr(begin, PEM_END) : NULL;
	fp = strstr(j->out, FP_TAG);
	if (cl != NULL && begin != NULL && end != NULL && fp != NULL) {
		fp += strlen(FP_TAG);
		nl = strchr(fp, '\n');
		snprintf(fingerprint, sizeof(fingerprint), "sha256:%.*s",
		    nl != NULL && nl - fp < 70 ? (int)(nl - fp) : 64, fp);
		end += strlen(PEM_END);
		console_ok(cl, j->t.id, json_pack("{s:s, s:s%}", "fingerprint",
		    fingerprint, "csr", begin, (size_t)(end - begin)));
	} else if (cl != NULL) {
		/* The child's last line says why ("wattgate: ..."). */
		while (j->len > 0 && j->out[j->len - 1] == '\n')
			j->out[--j->len] = '\0';
		last = strrchr(j->out, '\n');
		console_err(cl, j->t.id, "identity: %.300s", last != NULL ? last + 1 :
		    j->len > 0 ? j->out : "the key could not be read");
	}
	j->active = 0;
	console_ticket_done(cs, &j->t);
}

static void
on_output(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct console *cs = arg;
	struct console_idjob *j = cs->srv->idjob;
	ssize_t n;

	(void)l;
	(void)events;
	n = read(fd, j->out + j->len, OUT_MAX - j->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 && j->len + (size_t)n < OUT_MAX) {
		j->len += (size_t)n;
		return;
	}
	if (n > 0)
		j->len += (size_t)n;	/* full: more would be no CSR anyway */
	close_pipe(cs, j);
	if (j->active)
		answer(cs, j);
	job_free(cs);
}

static int
spawn(struct console *cs, struct console_idjob *j)
{
	const struct site_config *cfg = cs->g->cfg;
	/* The site file the daemon was started with: a fleet's config in
	 * effect (config.active, config.trial) is a state file with headers,
	 * which --identity does not read, and the trial one moves at commit. */
	char *const argv[] = { "wattgate", "--identity", "-c",
		(char *)(cfg->base[0] != '\0' ? cfg->base : cfg->path), NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	char exe[PATH_MAX];
	ssize_t n;
	int p[2], rc;

	/* The binary by its name (what valgrind, in the tests, says it is);
	 * /proc/self/exe if it was replaced or removed since. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (n <= 0 || strstr(exe, " (deleted)") != NULL || access(exe, X_OK) != 0)
		snprintf(exe, sizeof(exe), "/proc/self/exe");

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	/* The daemon blocks its signals for the signalfd: not the child's. */
	sigemptyset(&none);
	sigfillset(&dfl);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&j->pid, exe, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		j->pid = 0;
		return -rc;
	}
	j->fd = p[0];
	if ((rc = loop_add(cs->g->loop, j->fd, EPOLLIN, on_output, cs)) < 0) {
		close(j->fd);
		j->fd = -1;
		kill(j->pid, SIGKILL);
		return rc;
	}
	return 0;
}

int
console_run_identity(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_idjob *j;
	int rc;

	if (!IS_ENABLED(CONFIG_IDENTITY)) {
		console_err(cl, rq->id, "identity: the device identity is not built "
		    "into this image");
		return CCMD_DONE;
	}
	if (cs->g->cfg->identity_key[0] == '\0') {
		console_err(cl, rq->id, "identity: the site config names no "
		    "identity_key");
		return CCMD_DONE;
	}
	if (console_client_later(cl) != 0) {
		console_err(cl, rq->id, "busy: request %llu is still running (cancel "
		    "it first)", (unsigned long long)console_client_later(cl));
		return CCMD_DONE;
	}
	if (cs->srv->idjob != NULL) {
		console_err(cl, rq->id, "identity: busy with another console's; ask "
		    "again in a moment");
		return CCMD_DONE;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		console_err(cl, rq->id, "identity: out of memory");
		return CCMD_DONE;
	}
	j->fd = -1;
	if ((rc = spawn(cs, j)) < 0) {
		free(j);
		console_err(cl, rq->id, "identity: cannot run wattgate --identity: %s",
		    strerror(-rc));
		return CCMD_DONE;
	}
	j->t = console_ticket(cl, rq->id);
	j->active = 1;
	cs->srv->idjob = j;
	return CCMD_LATER;
}

void
console_cancel_identity(struct console *cs, const struct console_ticket *t)
{
	struct console_idjob *j = cs->srv->idjob;

	if (j == NULL || !j->active || j->t.slot != t->slot || j->t.gen != t->gen ||
	    j->t.id != t->id)
		return;
	if (j->pid > 0)
		kill(j->pid, SIGKILL);
	job_free(cs);
}

void
console_identity_tick(struct console *cs)
{
	struct console_srv *srv = cs->srv;
	size_t i;
	int st;

	for (i = 0; i < CONSOLE_ZOMBIES; i++)
		if (srv->zombies[i] > 0 && waitpid(srv->zombies[i], &st, WNOHANG) != 0)
			srv->zombies[i] = 0;
}

void
console_identity_stop(struct console *cs)
{
	struct console_srv *srv = cs->srv;
	size_t i;
	int st;

	if (srv->idjob != NULL) {
		if (srv->idjob->pid > 0)
			kill(srv->idjob->pid, SIGKILL);
		job_free(cs);
	}
	for (i = 0; i < CONSOLE_ZOMBIES; i++)
		if (srv->zombies[i] > 0) {
			kill(srv->zombies[i], SIGKILL);
			while (waitpid(srv->zombies[i], &st, 0) == -1 && errno == EINTR)
				;
			srv->zombies[i] = 0;
		}
}
