package network

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// localnetGuard returns the rule that drops new connections from a
// bridge to 127.0.0.0/8: portmap sets route_localnet on the bridge so
// that published ports answer on the host's loopback, which would also
// let containers reach services bound to the host's 127.0.0.1. Replies
// of the loopback connections portmap forwards are ESTABLISHED and pass.
func localnetGuard(bridge string) []string {
	return []string{"INPUT", "-i", bridge, "-d", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED",
		"-m", "comment", "--comment", "berth: no route_localnet from " + bridge, "-j", "DROP"}
}

// addLocalnetGuard inserts bridge's guard rule unless it is there.
func addLocalnetGuard(bridge string) error {
	rule := localnetGuard(bridge)
	if exec.Command("iptables", append([]string{"-w", "-C"}, rule...)...).Run() == nil {
		return nil
	}
	if b, err := exec.Command("iptables", append([]string{"-w", "-I"}, rule...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables -I %s: %w: %s", strings.Join(rule, " "), err, strings.TrimSpace(string(b)))
	}
	return nil
}

// removeLocalnetGuard deletes bridge's guard rule if it is there.
func removeLocalnetGuard(bridge string) error {
	rule := localnetGuard(bridge)
	for exec.Command("iptables", append([]string{"-w", "-C"}, rule...)...).Run() == nil {
		if b, err := exec.Command("iptables", append([]string{"-w", "-D"}, rule...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables -D %s: %w: %s", strings.Join(rule, " "), err, strings.TrimSpace(string(b)))
		}
	}
	return nil
}

// isolationChains hold the firewall plugin's ingressPolicy=same-bridge
// rules. The plugin adds a bridge's rules on its first ADD and never
// removes them, so Remove does, by the bridge's exact name.
var isolationChains = []string{"CNI-ISOLATION-STAGE-1", "CNI-ISOLATION-STAGE-2"}

// removeIsolation deletes the isolation rules naming bridge.
func removeIsolation(bridge string) error {
	for _, tool := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(tool); err != nil {
			continue
		}
		for _, chain := range isolationChains {
			out, err := exec.Command(tool, "-w", "-t", "filter", "-S", chain).Output()
			if err != nil {
				continue // no such chain: nothing to remove
			}
			for _, line := range strings.Split(string(out), "\n") {
				args := splitRule(line)
				if len(args) < 2 || args[0] != "-A" || !namesInterface(args, bridge) {
					continue
				}
				args[0] = "-D"
				if b, err := exec.Command(tool, append([]string{"-w", "-t", "filter"}, args...)...).CombinedOutput(); err != nil {
					return fmt.Errorf("%s -D %s: %w: %s", tool, chain, err, strings.TrimSpace(string(b)))
				}
			}
		}
	}
	return nil
}

// namesInterface reports whether a rule matches bridge with -i or -o.
func namesInterface(args []string, bridge string) bool {
	for i := 0; i+1 < len(args); i++ {
		if (args[i] == "-i" || args[i] == "-o") && args[i+1] == bridge {
			return true
		}
	}
	return false
}

// splitRule splits a line of `iptables -S` into arguments, undoing its
// double quotes (comments are the only quoted values it prints).
func splitRule(line string) []string {
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			inQuote, have = !inQuote, true
		case c == ' ' && !inQuote:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return slices.Clip(args)
}
