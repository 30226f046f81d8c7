package network

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

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
