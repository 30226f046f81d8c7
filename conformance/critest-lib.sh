# conformance/critest-lib.sh — what conformance/critest.sh and
# bench/cri-pods.sh share: a loopback registry of critest's stand-in
# images with hosts.toml mirror files, a private containerd or berthd
# serving the CRI on a CNI bridge of its own, and the cleanup of all of it.
#
# The caller sets REPO, WORK (a fresh temporary directory), TOOLS (where
# crictl is), SUBNET, BRIDGE, PIDS=() and, for berthd, BERTHD (its
# binary; berth-shim, berth-runtime and the pause binary beside it) and traps critest_cleanup on
# EXIT after snapshot_host. write_mirrors sets CERTS; start_containerd
# and start_berthd set ENDPOINT and DAEMON_PID. PIDS are the other
# processes to stop at exit (the registry).

# free_port prints a loopback TCP port nothing listens on.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

# chains lists "table chain" for every iptables chain.
chains() { for t in filter nat; do iptables -w -t "$t" -S 2>/dev/null | awk -v t="$t" '$1 == "-N" {print t, $2}'; done; }

# snapshot_host records what the cleanup must tell apart from what this
# run made: network namespaces, iptables chains, System V shared memory
# segments (critest's HostIpc specs make 1 MiB ones with ipcmk on the
# host and leave them) and the cgroups the CRI daemons create.
snapshot_host() {
	ls /var/run/netns 2>/dev/null >"$WORK/netns.before" || true
	chains >"$WORK/chains.before"
	awk 'NR > 1 {print $2}' /proc/sysvipc/shm >"$WORK/shm.before"
	: >"$WORK/cgroups.new"
	local c n
	for c in /sys/fs/cgroup/*/; do
		for n in k8s.io kubepods berth-cri; do
			[[ -d $c$n ]] || echo "$c$n" >>"$WORK/cgroups.new"
		done
	done
}

start_registry() {
	REG_PORT=$(free_port)
	mkdir -p "$WORK/registry"
	cat >"$WORK/registry/config.yml" <<-YML
	version: 0.1
	log:
	  level: error
	  accesslog:
	    disabled: true
	storage:
	  filesystem:
	    rootdirectory: $WORK/registry/data
	  delete:
	    enabled: true
	http:
	  addr: 127.0.0.1:$REG_PORT
	YML
	docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry/log" 2>&1 &
	PIDS+=($!)
	local i
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$REG_PORT") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "critest: docker-registry did not start: $(tail -1 "$WORK/registry/log")" >&2
	exit 1
}

# gotool runs go without the dead proxy the daemons get, so that a fresh
# module cache can still fetch from the Go module proxy.
gotool() { env -u HTTP_PROXY -u HTTPS_PROXY go "$@"; }

# push_images builds the stand-ins of critest's images and pushes them.
push_images() {
	(cd "$REPO" && CGO_ENABLED=0 gotool build -trimpath -ldflags '-s -w' -o "$WORK/testbin" ./conformance/critestimages/testbin &&
		gotool build -o "$WORK/critestimages" ./conformance/critestimages)
	"$WORK/critestimages" -registry "127.0.0.1:$REG_PORT" -testbin "$WORK/testbin"
}

# write_mirrors sends registry.k8s.io, k8s.gcr.io and gcr.io to the
# loopback registry; the real hosts stay as the fallback servers, which
# the dead proxy makes fail at once.
write_mirrors() {
	local h
	CERTS=$WORK/certs.d
	for h in registry.k8s.io k8s.gcr.io gcr.io; do
		mkdir -p "$CERTS/$h"
		printf 'server = "https://%s"\n\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull", "resolve"]\n' \
			"$h" "$REG_PORT" >"$CERTS/$h/hosts.toml"
	done
}

# wait_socket PID SOCKET LOG: wait for a daemon's socket.
wait_socket() {
	local i
	for i in $(seq 300); do
		[[ -S $2 ]] && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	echo "critest: daemon did not serve $2:" >&2
	tail -5 "$3" >&2
	exit 1
}

start_containerd() {
	local c=$WORK/containerd
	mkdir -p "$c" "$WORK/net.d"
	# No default route in the pods and no masquerade: pods reach the
	# host's bridge address and each other only.
	cat >"$WORK/net.d/10-critest.conflist" <<-JSON
	{"cniVersion": "0.4.0", "name": "critest-$$", "plugins": [
	  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
	   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$SUBNET"}]], "dataDir": "$WORK/cni-ipam"}},
	  {"type": "portmap", "capabilities": {"portMappings": true}}
	]}
	JSON
	cat >"$c/config.toml" <<-TOML
	version = 2
	root = "$c/root"
	state = "$c/state"
	[grpc]
	  address = "$WORK/containerd.sock"
	[plugins."io.containerd.internal.v1.opt"]
	  path = "$c/opt"
	[plugins."io.containerd.grpc.v1.cri"]
	  restrict_oom_score_adj = true
	  sandbox_image = "registry.k8s.io/pause:3.9"
	  [plugins."io.containerd.grpc.v1.cri".cni]
	    bin_dir = "/usr/lib/cni"
	    conf_dir = "$WORK/net.d"
	  [plugins."io.containerd.grpc.v1.cri".registry]
	    config_path = "$CERTS"
	TOML
	containerd --config "$c/config.toml" --log-level warn >"$WORK/containerd.log" 2>&1 &
	DAEMON_PID=$!
	wait_socket "$DAEMON_PID" "$WORK/containerd.sock" "$WORK/containerd.log"
	ENDPOINT=unix://$WORK/containerd.sock
	echo "# containerd $(containerd --version | awk '{print $3}') (pid $DAEMON_PID) on $ENDPOINT, CNI bridge $BRIDGE $SUBNET"
}

# berthd_has_cri says whether this berthd serves the CRI.
berthd_has_cri() { "$BERTHD" --help 2>&1 | grep -q -- --cri-address; }

start_berthd() {
	cat >"$WORK/berthd.toml" <<-TOML
	[registry]
	config_path = "$CERTS"
	[network]
	default_bridge = "$BRIDGE"
	default_subnet = "$SUBNET"
	TOML
	"$BERTHD" --root "$WORK/berth/root" --state "$WORK/berth/state" --address "$WORK/berthd.sock" \
		--cri-address "$WORK/cri.sock" --config "$WORK/berthd.toml" --log-level warn >"$WORK/berthd.log" 2>&1 &
	DAEMON_PID=$!
	wait_socket "$DAEMON_PID" "$WORK/cri.sock" "$WORK/berthd.log"
	ENDPOINT=unix://$WORK/cri.sock
	echo "# berthd $("$BERTHD" --version 2>/dev/null | head -1) (pid $DAEMON_PID) on $ENDPOINT, bridge $BRIDGE $SUBNET"
}

# stop_daemon removes every pod through the CRI, then stops the daemon
# and kills what is left of this run's processes: those with an argument
# under WORK (shims name their daemon's socket there).
stop_daemon() {
	if [[ -n ${ENDPOINT:-} && -n ${DAEMON_PID:-} ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		timeout 300 "$TOOLS/crictl" --runtime-endpoint "$ENDPOINT" --image-endpoint "$ENDPOINT" rmp -fa >/dev/null 2>&1 ||
			echo "# crictl rmp -fa failed; the daemon's processes are killed below"
	fi
	[[ -n ${DAEMON_PID:-} ]] && kill_pids "$DAEMON_PID"
	DAEMON_PID=
	local p left=()
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[[ $p == "$$" || $p == "$BASHPID" ]] && continue
		{ tr '\0' '\n' <"/proc/$p/cmdline"; } 2>/dev/null | grep -q "^$WORK/" && left+=("$p")
	done
	if [[ ${#left[@]} -gt 0 ]]; then
		echo "# killing ${#left[@]} leftover processes of this run: ${left[*]}"
		kill_pids "${left[@]}"
	fi
}

kill_pids() {
	local pid
	# Each step may find the process gone: never an error under set -e.
	for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "$@"; do
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	return 0
}

# drop_bridge_rules removes the filter and nat rules naming bridge $1 as
# an in or out interface (Berth's per-network loopback and hairpin
# rules among them), which outlive the bridge itself.
drop_bridge_rules() {
	local t rule
	for t in filter nat; do
		{ iptables -w -t "$t" -S 2>/dev/null | grep -E -- "-[io] $1( |\$)" || true; } | while read -r rule; do
			eval "iptables -w -t $t ${rule/#-A/-D}"
		done
	done
	return 0
}

# drop_new_chains removes the iptables chains of CNI's plugins and Berth
# that did not exist before this run, with the jumps into them, and the
# rules naming this run's bridge.
drop_new_chains() {
	local t c rule new=()
	while read -r t c; do
		[[ $c == CNI-* || $c == BERTH* ]] && ! grep -qx "$t $c" "$WORK/chains.before" && new+=("$t $c")
	done < <(chains)
	drop_bridge_rules "$BRIDGE"
	for tc in "${new[@]}"; do
		read -r t c <<<"$tc"
		iptables -w -t "$t" -S 2>/dev/null | grep -E -- "-j $c( |\$)" | grep -v "^-N" | while read -r rule; do
			eval "iptables -w -t $t ${rule/#-A/-D}"
		done
	done
	for tc in "${new[@]}"; do read -r t c <<<"$tc"; iptables -w -t "$t" -F "$c" 2>/dev/null; done
	for tc in "${new[@]}"; do read -r t c <<<"$tc"; iptables -w -t "$t" -X "$c" 2>/dev/null; done
	return 0
}

critest_cleanup() {
	set +e
	kill_pids "${PIDS[@]}" # the registry, before stop_daemon looks for leftovers
	stop_daemon
	grep -F " $WORK/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
	local n d
	for n in $(ls /var/run/netns 2>/dev/null); do
		grep -qx "$n" "$WORK/netns.before" || { echo "# removing netns $n left by the daemon"; ip netns delete "$n"; }
	done
	# Killed containers leave their cgroups a moment later: a few tries.
	local try
	for try in 1 2 3 4 5 6 7 8 9 10; do
		while read -r d; do
			[[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		done <"$WORK/cgroups.new"
		grep -q . < <(while read -r d; do [[ -d $d ]] && echo "$d"; done <"$WORK/cgroups.new") || break
		[[ $try == 10 ]] && echo "# could not remove the cgroups of $(cat "$WORK/cgroups.new")"
		sleep 0.5
	done
	awk 'NR > 1 && $4 == 1048576 {print $2}' /proc/sysvipc/shm | while read -r n; do
		grep -qx "$n" "$WORK/shm.before" || ipcrm -m "$n"
	done
	ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE"
	drop_new_chains
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "# kept $WORK"
	else
		rm -rf "$WORK"
	fi
}

# report JSON RC prints the counts and every failed and skipped spec of
# a ginkgo JSON report; it exits 1 when a spec failed or critest did not
# report.
report() {
	if [[ ! -s $1 ]]; then
		echo "critest.sh: critest exited $2 without a report:" >&2
		tail -20 "$WORK/critest.log" >&2
		exit 1
	fi
	jq -r '.[].SpecReports[] | select(.LeafNodeType == "It") |
		[.State, ((.ContainerHierarchyTexts // []) + [.LeafNodeText] | join(" ")),
		 ((.Failure.Message // "") | split("\n") | map(gsub("^\\s+|\\s+$"; "")) | map(select(. != "")) |
		  ((map(select(test("rpc error"))) | first) // (.[0:3] | join(" "))) | .[0:240])] | @tsv' "$1" >"$WORK/specs.tsv"
	local total passed failed skipped
	total=$(wc -l <"$WORK/specs.tsv")
	passed=$(grep -c $'^passed\t' "$WORK/specs.tsv" || true)
	failed=$(grep -vc -e $'^passed\t' -e $'^skipped\t' -e $'^pending\t' "$WORK/specs.tsv" || true)
	skipped=$(grep -c $'^skipped\t' "$WORK/specs.tsv" || true)
	grep -E '^(Ran [0-9]+ of|FAIL!|SUCCESS!)' "$WORK/critest.log" | sed 's/^/# /'
	echo "== failed specs"
	grep -v -e $'^passed\t' -e $'^skipped\t' -e $'^pending\t' "$WORK/specs.tsv" | cut -f2- | sed 's/^/  /;s/\t/ -- /;s/ -- $//'
	echo "== skipped specs"
	grep $'^skipped\t' "$WORK/specs.tsv" | cut -f2- | sed 's/^/  /;s/\t/ -- /;s/ -- $//'
	echo "critest: $passed passed, $failed failed, $skipped skipped of $total specs"
	[[ $failed == 0 ]] && return 0
	if [[ -n ${KNOWN_FAILURES:-} && -f $KNOWN_FAILURES ]]; then
		local unexpected
		unexpected=$(grep -v -e $'^passed\t' -e $'^skipped\t' -e $'^pending\t' "$WORK/specs.tsv" | cut -f2 |
			grep -vxF -f <(grep -v -e '^#' -e '^$' "$KNOWN_FAILURES"; echo '#') || true)
		if [[ -z $unexpected ]]; then
			echo "critest: every failed spec is listed in $KNOWN_FAILURES"
			return 0
		fi
		echo "critest: failed and not listed in $KNOWN_FAILURES:"
		echo "$unexpected" | sed 's/^/  /'
	fi
	exit 1
}
