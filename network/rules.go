package network

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// hostRule is one iptables rule Berth owns for a network. Berth finds
// it again by its exact text, so a fresh Manager (berthd restarted)
// removes what an earlier one added.
type hostRule struct {
	tool  string // iptables or ip6tables
	table string
	chain string
	args  []string
}

func (r hostRule) cmd(op string) *exec.Cmd {
	return exec.Command(r.tool, append([]string{"-w", "-t", r.table, op, r.chain}, r.args...)...)
}

func (r hostRule) exists() bool { return r.cmd("-C").Run() == nil }

// ensure inserts r at the top of its chain unless it is there.
func (r hostRule) ensure() error {
	if r.exists() {
		return nil
	}
	return r.run("-I")
}

// remove deletes every copy of r.
func (r hostRule) remove() error {
	for r.exists() {
		if err := r.run("-D"); err != nil {
			return err
		}
	}
	return nil
}

func (r hostRule) run(op string) error {
	if b, err := r.cmd(op).CombinedOutput(); err != nil {
		return fmt.Errorf("%s -t %s %s %s %s: %w: %s", r.tool, r.table, op, r.chain, strings.Join(r.args, " "), err, strings.TrimSpace(string(b)))
	}
	return nil
}

// networkRules returns the rules Berth keeps for network n: the
// loopback guard and, when Berth rather than portmap masquerades
// connections to published ports (OwnSNAT), those masquerade rules.
func networkRules(n *Network) []hostRule {
	rules := []hostRule{localnetGuard(n.Bridge)}
	if n.OwnSNAT {
		rules = append(rules, portSNAT(n)...)
	}
	return rules
}

// ensureRules adds the rules that are missing; if one fails, those
// added before it are removed again.
func ensureRules(rules []hostRule) error {
	for i, r := range rules {
		if err := r.ensure(); err != nil {
			_ = removeRules(rules[:i])
			return err
		}
	}
	return nil
}

// removeRules deletes rules, going on past failures.
func removeRules(rules []hostRule) error {
	var errs []string
	for _, r := range rules {
		if err := r.remove(); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// localnetGuard returns the rule that drops new connections from a
// bridge to 127.0.0.0/8: the bridge has route_localnet set so that
// published ports answer on the host's loopback, which would also let
// containers reach services bound to the host's 127.0.0.1. Replies of
// the loopback connections DNAT forwards are ESTABLISHED and pass.
func localnetGuard(bridge string) hostRule {
	return hostRule{"iptables", "filter", "INPUT", []string{"-i", bridge, "-d", "127.0.0.0/8",
		"-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED",
		"-m", "comment", "--comment", "berth: no route_localnet from " + bridge, "-j", "DROP"}}
}

// portSNAT returns the rules that stand in for portmap's per-container
// snat, once per network: a connection portmap's DNAT sends into the
// bridge from 127.0.0.0/8 (the host's loopback) or from the network's
// own subnet (hairpin: a container to a port published by itself or a
// neighbour) leaves with the bridge's address, so that the reply comes
// back through the host and is un-NATed. Nothing else is masqueraded.
func portSNAT(n *Network) []hostRule {
	rule := func(tool, src, what string) hostRule {
		return hostRule{tool, "nat", "POSTROUTING", []string{"-o", n.Bridge, "-s", src,
			"-m", "conntrack", "--ctstate", "DNAT",
			"-m", "comment", "--comment", "berth: " + what + " to ports published on " + n.Bridge, "-j", "MASQUERADE"}}
	}
	rules := []hostRule{rule("iptables", "127.0.0.0/8", "loopback"), rule("iptables", n.Subnet, "hairpin")}
	if n.IPv6 && n.Subnet6 != "" {
		rules = append(rules, rule("ip6tables", n.Subnet6, "hairpin"))
	}
	return rules
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

// setRouteLocalnet lets packets from 127.0.0.0/8 that DNAT sends to a
// container leave through bridge, as portmap's snat would on each ADD;
// the bridge keeps it until Remove deletes the bridge, and localnetGuard
// keeps containers from using it towards the host.
func setRouteLocalnet(bridge string) error {
	if bridge == "" || strings.ContainsAny(bridge, "/.") {
		return fmt.Errorf("%w: bridge name %q", ErrInvalidArgument, bridge)
	}
	path := "/proc/sys/net/ipv4/conf/" + bridge + "/route_localnet"
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("route_localnet on %s: %w", bridge, err)
	}
	return nil
}
