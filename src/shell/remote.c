/*
 * remote.c - commands that run elsewhere: ssh HOST COMMAND (the command is
 * text the remote shell parses, with nothing of this machine known: $HOME,
 * variables, the directory) and docker/podman/nerdctl run|exec, docker
 * compose run|exec, kubectl exec (the command runs in the container, whose
 * mounts -v/--mount are recorded).
 */
#include "wrap_int.h"

static const char *const SSH_LONG[] = { NULL };

bool shx_run_ssh(struct shx_ctx *c, int i)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd = shx_cmd(x, i);
	struct optspec o = { .argopts = "BbcDEeFIiJLlmOoPpQRSWw", .longarg = SSH_LONG };
	struct shx_spawn sp = { 0 };
	bool stop, unknown = false;
	int k = shx_scan_opts(cmd, 1, &o, &stop, &unknown);
	char stack[512];
	struct shx_buf b;
	bool decoded = false;

	if (k >= cmd->argc)
		return true;
	sp.host = cmd->argv[k].s;
	/* Options may follow the destination too. */
	k = shx_scan_opts(cmd, k + 1, &o, &stop, &unknown);
	if (k >= cmd->argc) {
		if (c->out)
			c->out->known = false;
		return true; /* an interactive login */
	}
	shx_buf_init(&b, stack, sizeof(stack));
	for (int q = k; q < cmd->argc; q++) {
		if (q > k)
			shx_buf_addc(x, &b, ' ');
		shx_buf_add(x, &b, cmd->argv[q].s, cmd->argv[q].len);
		decoded = decoded || (cmd->argv[q].flags & SH_W_DECODED);
	}
	sp.flags = SH_C_REMOTE;
	shx_run_shell_text(c, i, shx_buf_done(x, &b), b.len, NULL, 0, "bash", SH_VIA_REMOTE,
			   decoded, true, &sp);
	return true;
}

static const char *const DOCKER_GLOBAL[] = { "host",
					     "context",
					     "config",
					     "log-level",
					     "tlscacert",
					     "tlscert",
					     "tlskey",
					     "connection",
					     "url",
					     "identity",
					     "root",
					     "runroot",
					     "storage-driver",
					     "storage-opt",
					     "cgroup-manager",
					     "conmon",
					     "events-backend",
					     "hooks-dir",
					     "network-cmd-path",
					     "network-config-dir",
					     "runtime",
					     "runtime-flag",
					     "tmpdir",
					     "volumepath",
					     "imagestore",
					     "module",
					     "out",
					     "ssh",
					     "namespace",
					     "address",
					     NULL };

static const char *const DOCKER_RUN[] = { "attach",
					  "add-host",
					  "annotation",
					  "blkio-weight",
					  "blkio-weight-device",
					  "cap-add",
					  "cap-drop",
					  "cgroup-parent",
					  "cgroupns",
					  "cidfile",
					  "cpu-count",
					  "cpu-percent",
					  "cpu-period",
					  "cpu-quota",
					  "cpu-rt-period",
					  "cpu-rt-runtime",
					  "cpu-shares",
					  "cpus",
					  "cpuset-cpus",
					  "cpuset-mems",
					  "detach-keys",
					  "device",
					  "device-cgroup-rule",
					  "device-read-bps",
					  "device-read-iops",
					  "device-write-bps",
					  "device-write-iops",
					  "dns",
					  "dns-option",
					  "dns-opt",
					  "dns-search",
					  "domainname",
					  "entrypoint",
					  "env",
					  "env-file",
					  "expose",
					  "gpus",
					  "group-add",
					  "health-cmd",
					  "health-interval",
					  "health-retries",
					  "health-start-period",
					  "health-timeout",
					  "hostname",
					  "io-maxbandwidth",
					  "io-maxiops",
					  "ip",
					  "ip6",
					  "ipc",
					  "isolation",
					  "kernel-memory",
					  "label",
					  "label-file",
					  "link",
					  "link-local-ip",
					  "log-driver",
					  "log-opt",
					  "mac-address",
					  "memory",
					  "memory-reservation",
					  "memory-swap",
					  "memory-swappiness",
					  "mount",
					  "name",
					  "network",
					  "net",
					  "network-alias",
					  "net-alias",
					  "oom-score-adj",
					  "pid",
					  "pids-limit",
					  "platform",
					  "publish",
					  "pull",
					  "restart",
					  "runtime",
					  "security-opt",
					  "shm-size",
					  "stop-signal",
					  "stop-timeout",
					  "storage-opt",
					  "sysctl",
					  "tmpfs",
					  "ulimit",
					  "user",
					  "userns",
					  "uts",
					  "volume",
					  "volume-driver",
					  "volumes-from",
					  "workdir",
					  "arch",
					  "os",
					  "variant",
					  "secret",
					  "authfile",
					  "cgroup-conf",
					  "chrootdirs",
					  "conmon-pidfile",
					  "creds",
					  "decryption-key",
					  "gidmap",
					  "uidmap",
					  "subuidname",
					  "subgidname",
					  "hostuser",
					  "image-volume",
					  "init-path",
					  "passwd-entry",
					  "pod",
					  "pod-id-file",
					  "preserve-fds",
					  "requires",
					  "sdnotify",
					  "seccomp-policy",
					  "timeout",
					  "tz",
					  "umask",
					  "unsetenv",
					  "hooks-dir",
					  "log-level",
					  "context",
					  "namespace",
					  "container",
					  "filename",
					  NULL };

static const char *const DOCKER_FLAGS[] = { "detach",
					    "interactive",
					    "tty",
					    "rm",
					    "privileged",
					    "init",
					    "publish-all",
					    "read-only",
					    "no-healthcheck",
					    "oom-kill-disable",
					    "sig-proxy",
					    "disable-content-trust",
					    "help",
					    "quiet",
					    "replace",
					    "rootfs",
					    "env-host",
					    "http-proxy",
					    "read-only-tmpfs",
					    "rmi",
					    "systemd",
					    "tls-verify",
					    "stdin",
					    "no-hosts",
					    "use-env",
					    "debug",
					    "tls",
					    "tlsverify",
					    "remote",
					    "syslog",
					    NULL };

/* What run/exec options give what runs in the container. */
struct crun {
	struct shx_spawn sp;
	struct sh_word *mounts;
	struct sh_assign *env;
	const char *entry;
};

static void crun_opt(struct shx *x, char o, const char *val, struct crun *r)
{
	struct shx_spawn *sp = &r->sp;

	if (o == 'v') {
		r->mounts[sp->nmounts++] = (struct sh_word){ .s = val,
							     .len = strlen(val),
							     .sub = -1 };
	} else if (o == 'e' && strchr(val, '=')) {
		const char *eq = strchr(val, '=');

		r->env[sp->nenv].name = shx_strndup(x, val, (size_t)(eq - val));
		r->env[sp->nenv].value = (struct sh_word){ .s = eq + 1,
							   .len = strlen(eq + 1),
							   .sub = -1 };
		sp->nenv++;
	} else if (o == 'w') {
		sp->cwd_set = true;
		sp->cwd = val;
	}
}

/* The long option s (after --) of run/exec: its letter and value (*val, or NULL). */
static char crun_long(const struct sh_cmd *cmd, int *k, const char **val, struct crun *r)
{
	const char *s = cmd->argv[*k].s + 2, *eq = strchr(s, '=');
	size_t nl = eq ? (size_t)(eq - s) : strlen(s);

	if (!in_list(s, nl, DOCKER_RUN)) {
		if (!eq && !in_list(s, nl, DOCKER_FLAGS))
			r->sp.unres |= SH_U_OPTION;
		return 0;
	}
	*val = eq ? eq + 1 : *k + 1 < cmd->argc ? cmd->argv[++*k].s : "";
	if ((nl == 6 && !strncmp(s, "volume", 6)) || (nl == 5 && !strncmp(s, "mount", 5)))
		return 'v';
	if (nl == 3 && !strncmp(s, "env", 3))
		return 'e';
	if (nl == 7 && !strncmp(s, "workdir", 7))
		return 'w';
	if (nl == 10 && !strncmp(s, "entrypoint", 10))
		r->entry = *val;
	return 0;
}

/* The options of run/exec from k; returns the index of the image or container. */
static int crun_opts(struct shx *x, const struct sh_cmd *cmd, int k, bool kube, struct crun *r)
{
	for (; k < cmd->argc; k++) {
		const char *s = cmd->argv[k].s, *val = NULL;
		char o = 0;

		if (streq(s, "--"))
			return k + 1;
		if (s[0] != '-' || !s[1])
			break;
		if (s[1] == '-') {
			o = crun_long(cmd, &k, &val, r);
		} else {
			for (size_t j = 1; s[j]; j++) {
				if (strchr(kube ? "cnf" : "aevwhlmpucw", s[j])) {
					o = s[j];
					val = s[j + 1]		  ? s + j + 1
					      : k + 1 < cmd->argc ? cmd->argv[++k].s
								  : "";
					break;
				}
			}
		}
		if (val && !kube)
			crun_opt(x, o, val, r);
	}
	return k < cmd->argc ? k : cmd->argc; /* an option without its value */
}

/* docker|podman|nerdctl [global] run|exec|container run|exec|compose run|exec [opts]
 * IMAGE [CMD...]; kubectl exec [opts] POD -- CMD... */
bool shx_run_container(struct shx_ctx *c, int i)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd = shx_cmd(x, i);
	struct crun r = { .sp = { .flags = SH_C_CONTAINER } };
	struct optspec glob = { .argopts = "HclnsC", .longarg = DOCKER_GLOBAL };
	bool stop, unknown = false, kube = streq(cmd->name, "kubectl");
	int k = shx_scan_opts(cmd, 1, &glob, &stop, &unknown);

	r.mounts = shx_alloc(x, (size_t)cmd->argc * sizeof(*r.mounts));
	r.env = shx_alloc(x, (size_t)cmd->argc * sizeof(*r.env));
	if (k < cmd->argc &&
	    (streq(cmd->argv[k].s, "container") || streq(cmd->argv[k].s, "compose"))) {
		/* docker compose [-f FILE] [-p NAME] run|exec SERVICE: the service's container */
		static const char *const compose_long[] = {
			"file", "project-name", "profile", "env-file", "project-directory",
			"ansi", "progress",	NULL
		};
		struct optspec co = { .argopts = "fp", .longarg = compose_long };

		k = streq(cmd->argv[k].s, "compose")
			    ? shx_scan_opts(cmd, k + 1, &co, &stop, &unknown)
			    : k + 1;
	}
	if (k >= cmd->argc || (!streq(cmd->argv[k].s, "run") && !streq(cmd->argv[k].s, "exec")))
		return true;
	if (kube && !streq(cmd->argv[k].s, "exec"))
		return true;
	k = crun_opts(x, cmd, k + 1, kube, &r);
	if (k >= cmd->argc)
		return true;
	r.sp.container = cmd->argv[k].s;
	r.sp.mounts = r.mounts;
	r.sp.env = r.env;
	if (!r.sp.cwd_set) {
		r.sp.cwd_set = true;
		r.sp.cwd = NULL;
	}
	k++; /* the image, container or pod */
	if (kube) {
		/* kubectl takes options after the pod too: the command follows "--" */
		int dd = k;

		while (dd < cmd->argc && !streq(cmd->argv[dd].s, "--"))
			dd++;
		k = dd < cmd->argc ? dd + 1 : cmd->argc;
	}
	cmd->mounts = r.mounts;
	cmd->nmounts = r.sp.nmounts;
	if (r.entry) {
		struct sh_word *v = shx_alloc(x, (size_t)(cmd->argc - k + 1) * sizeof(*v));

		v[0] = (struct sh_word){ .s = r.entry, .len = strlen(r.entry), .sub = -1 };
		memcpy(v + 1, cmd->argv + k, (size_t)(cmd->argc - k) * sizeof(*v));
		shx_spawn(c, i, v, cmd->argc - k + 1, SH_VIA_CONTAINER, &r.sp);
		return true;
	}
	if (k < cmd->argc)
		shx_spawn(c, i, cmd->argv + k, cmd->argc - k, SH_VIA_CONTAINER, &r.sp);
	return true;
}
