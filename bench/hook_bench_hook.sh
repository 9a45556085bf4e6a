#!/bin/bash
# hook_bench_hook.sh - a hook of the kind in common use, for bench/hook_bench:
# read the event from stdin, pick fields with jq, POST it with curl to a
# collector (HOOK_BENCH_URL), never fail the agent.
input=$(cat)
event=$(jq -r '.hook_event_name // "unknown"' <<<"$input")
tool=$(jq -r '.tool_name // ""' <<<"$input")
curl -s -m 2 -X POST -H 'Content-Type: application/json' \
	-H "X-Hook-Event: $event" -H "X-Hook-Tool: $tool" \
	--data-binary "$input" "$HOOK_BENCH_URL" >/dev/null || true
exit 0
