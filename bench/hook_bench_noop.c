/*
 * hook_bench_noop.c - the baseline of bench/hook_bench: a hook that does
 * nothing, linked statically like vigil-hook, so the ratio shows what
 * vigil-hook adds to the bare cost of starting a process.
 */
int main(void)
{
	return 0;
}
