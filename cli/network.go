package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/cli/runopts"
	"github.com/spf13/cobra"
)

// networksClient dials berthd's Networks service.
func (g *globals) networksClient() (apiv1.NetworksClient, error) {
	conn, err := g.dial()
	if err != nil {
		return nil, err
	}
	return apiv1.NewNetworksClient(conn), nil
}

func newNetworkCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "network", Short: "Manage networks"}
	cmd.AddCommand(newNetworkCreate(g), newNetworkLs(g), newNetworkInspect(g), newNetworkRm(g), newNetworkPrune(g),
		newNetworkConnect(g), newNetworkDisconnect(g))
	return cmd
}

func newNetworkCreate(g *globals) *cobra.Command {
	var subnets, opts, labels []string
	var driver string
	req := &apiv1.CreateNetworkRequest{}
	cmd := &cobra.Command{
		Use:   "create [flags] NAME",
		Short: "Create a bridge network",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if driver != "bridge" {
				return usageError("driver %q: only bridge is supported", driver)
			}
			req.Name = args[0]
			for _, s := range subnets {
				switch {
				case strings.Contains(s, ":") && req.Subnet6 == "":
					req.Subnet6 = s
				case !strings.Contains(s, ":") && req.Subnet == "":
					req.Subnet = s
				default:
					return usageError("--subnet %s: at most one IPv4 and one IPv6 subnet", s)
				}
			}
			if req.Subnet6 != "" && !req.Ipv6 {
				return usageError("--subnet %s: an IPv6 subnet needs --ipv6", req.Subnet6)
			}
			var err error
			if req.Options, err = keyValues("--opt", opts); err != nil {
				return err
			}
			if req.Labels, err = keyValues("--label", labels); err != nil {
				return err
			}
			nc, err := g.networksClient()
			if err != nil {
				return err
			}
			n, err := nc.Create(g.ctx(cmd), req)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), n.GetId())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", "bridge", "network driver (only bridge)")
	runopts.StringArrayVarP(f, &subnets, "subnet", "", "subnet in CIDR form (one IPv4, one IPv6 with --ipv6)")
	f.StringVar(&req.Gateway, "gateway", "", "IPv4 gateway (default: the subnet's first address)")
	f.BoolVar(&req.Internal, "internal", false, "no route off the network")
	f.BoolVar(&req.Ipv6, "ipv6", false, "dual stack IPv4 and IPv6")
	runopts.StringArrayVarP(f, &opts, "opt", "o", "driver option KEY=VALUE (isolate=true: drop traffic from other networks)")
	runopts.StringArrayVarP(f, &labels, "label", "", "set a label KEY=VALUE")
	return cmd
}

// keyValues parses KEY=VALUE arguments of flag (a bare KEY is KEY=).
func keyValues(flag string, args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		if k == "" {
			return nil, usageError("%s %q: want KEY=VALUE", flag, a)
		}
		out[k] = v
	}
	return out, nil
}

func newNetworkLs(g *globals) *cobra.Command {
	var quiet bool
	var format string
	cmd := &cobra.Command{
		Use:     "ls [flags]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "" && format != "table" && format != "json" {
				return usageError("--format %q: want table or json", format)
			}
			nc, err := g.networksClient()
			if err != nil {
				return err
			}
			resp, err := nc.List(g.ctx(cmd), &apiv1.ListNetworksRequest{})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" && !quiet {
				enc := json.NewEncoder(out)
				for _, n := range resp.GetNetworks() {
					if err := enc.Encode(networkLine(n)); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
			if !quiet {
				fmt.Fprintln(tw, "NETWORK ID\tNAME\tDRIVER\tSCOPE")
			}
			for _, n := range resp.GetNetworks() {
				if quiet {
					fmt.Fprintln(tw, shortID(n.GetId()))
				} else {
					fmt.Fprintf(tw, "%s\t%s\tbridge\tlocal\n", shortID(n.GetId()), n.GetName())
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only IDs")
	cmd.Flags().StringVar(&format, "format", "", "table (default) or json (one object a line)")
	return cmd
}

// networkLine is a network as `network ls --format json` shows it, as
// Docker's does.
func networkLine(n *apiv1.NetworkInfo) map[string]string {
	var labels []string
	for k, v := range n.GetLabels() {
		labels = append(labels, k+"="+v)
	}
	return map[string]string{
		"ID": shortID(n.GetId()), "Name": n.GetName(), "Driver": "bridge", "Scope": "local",
		"IPv6": strconv.FormatBool(n.GetIpv6()), "Internal": strconv.FormatBool(n.GetInternal()),
		"Labels": strings.Join(labels, ","), "CreatedAt": n.GetCreated().AsTime().Format(time.RFC3339),
	}
}

// networkJSON is a network as `network inspect` shows it, in Docker's
// shape.
func networkJSON(n *apiv1.NetworkInfo) map[string]any {
	ipam := []map[string]string{{"Subnet": n.GetSubnet(), "Gateway": n.GetGateway()}}
	if n.GetSubnet6() != "" {
		ipam = append(ipam, map[string]string{"Subnet": n.GetSubnet6(), "Gateway": n.GetGateway6()})
	}
	containers := map[string]any{}
	for _, c := range n.GetContainers() {
		ep := map[string]string{"Name": "", "MacAddress": c.GetMac(), "IPv4Address": "", "IPv6Address": ""}
		if len(c.GetAliases()) > 0 {
			ep["Name"] = c.GetAliases()[0]
		}
		for _, ip := range c.GetIps() {
			if strings.Contains(ip, ":") {
				ep["IPv6Address"] = ip
			} else {
				ep["IPv4Address"] = ip
			}
		}
		containers[c.GetContainerId()] = ep
	}
	labels := n.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	opts := n.GetOptions()
	if opts == nil {
		opts = map[string]string{}
	}
	opts["com.docker.network.bridge.name"] = n.GetBridge()
	return map[string]any{
		"Name": n.GetName(), "Id": n.GetId(), "Created": n.GetCreated().AsTime().Format(time.RFC3339Nano),
		"Scope": "local", "Driver": "bridge", "EnableIPv6": n.GetIpv6(),
		"IPAM":     map[string]any{"Driver": "default", "Options": map[string]string{}, "Config": ipam},
		"Internal": n.GetInternal(), "Containers": containers, "Options": opts, "Labels": labels,
	}
}

func newNetworkInspect(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NAME...",
		Short: "Show networks as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nc, err := g.networksClient()
			if err != nil {
				return err
			}
			out := []map[string]any{}
			for _, name := range args {
				n, err := nc.Get(g.ctx(cmd), &apiv1.NetworkRequest{Name: name})
				if err != nil {
					return err
				}
				out = append(out, networkJSON(n))
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "    ")
			return enc.Encode(out)
		},
	}
}

func newNetworkRm(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"remove"},
		Short:   "Remove networks no container uses",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nc, err := g.networksClient()
			if err != nil {
				return err
			}
			var first error
			for _, name := range args {
				if _, err := nc.Remove(g.ctx(cmd), &apiv1.NetworkRequest{Name: name}); err != nil {
					if first == nil {
						first = err
					} else {
						fmt.Fprintln(cmd.ErrOrStderr(), "berth:", Explain(err))
					}
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), name)
			}
			return first
		},
	}
}

func newNetworkPrune(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [flags]",
		Short: "Remove the networks no container uses (never the default bridge)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force {
				fmt.Fprint(cmd.OutOrStdout(), "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ")
				answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.TrimSpace(strings.ToLower(answer)); a != "y" && a != "yes" {
					return nil
				}
			}
			nc, err := g.networksClient()
			if err != nil {
				return err
			}
			resp, err := nc.Prune(g.ctx(cmd), &apiv1.PruneNetworksRequest{})
			if err != nil {
				return err
			}
			if len(resp.GetRemoved()) > 0 {
				out := cmd.OutOrStdout()
				fmt.Fprintln(out, "Deleted Networks:")
				for _, n := range resp.GetRemoved() {
					fmt.Fprintln(out, n)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	return cmd
}

func newNetworkConnect(g *globals) *cobra.Command {
	req := &apiv1.ConnectNetworkRequest{}
	cmd := &cobra.Command{
		Use:   "connect [flags] NETWORK CONTAINER",
		Short: "Connect a container to a network (a running one at once)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Network, req.Container = args[0], args[1]
			nc, err := g.networksClient()
			if err != nil {
				return err
			}
			_, err = nc.Connect(g.ctx(cmd), req)
			return err
		},
	}
	runopts.StringArrayVarP(cmd.Flags(), &req.Aliases, "alias", "", "a name peers on the network resolve to the container")
	cmd.Flags().StringVar(&req.Ip, "ip", "", "the container's IPv4 or IPv6 address on the network")
	return cmd
}

func newNetworkDisconnect(g *globals) *cobra.Command {
	req := &apiv1.DisconnectNetworkRequest{}
	cmd := &cobra.Command{
		Use:   "disconnect [flags] NETWORK CONTAINER",
		Short: "Disconnect a container from a network it was connected to",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Network, req.Container = args[0], args[1]
			nc, err := g.networksClient()
			if err != nil {
				return err
			}
			_, err = nc.Disconnect(g.ctx(cmd), req)
			return err
		},
	}
	cmd.Flags().BoolVarP(&req.Force, "force", "f", false, "also remove an attachment the record does not list; not connected is no error")
	return cmd
}
