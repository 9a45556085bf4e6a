/*
 * decide_bench_noop.c - the floor of bench/decide_bench: a blocking hook
 * that decides nothing.  It reads its stdin to the end, as an agent's hook
 * must, prints a fixed PreToolUse deny in Claude Code's protocol and exits
 * 0.  Linked statically like vigil-hook, so the distance between the two is
 * what vigil adds (socket, daemon, rules, ledger commit), not the cost of
 * starting a process.
 */
#include <errno.h>
#include <unistd.h>

static const char deny[] =
	"{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":"
	"\"deny\",\"permissionDecisionReason\":\"Blocked by the no-op floor.\"}}\n";

int main(void)
{
	char buf[65536];
	size_t off = 0;
	ssize_t n;

	for (;;) {
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR)
			return 1;
	}
	while (off < sizeof(deny) - 1) {
		n = write(STDOUT_FILENO, deny + off, sizeof(deny) - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1;
		off += (size_t)n;
	}
	return 0;
}
