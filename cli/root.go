package cli

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/version"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// DefaultAddress is berthd's default socket.
const DefaultAddress = "/run/berth/berthd.sock"

// globals are the persistent flags and berthd's connection.
type globals struct {
	address   string
	namespace string
	conn      *grpc.ClientConn
	// early is a connection Main started before the flags were parsed.
	early *earlyConn
	// keepOpen leaves the connection open at the end: the process exits.
	keepOpen bool
	// only, when set, is the one top-level command to build (Main).
	only string
}

// NewRoot builds the berth command tree. Each command that talks to
// berthd closes its connection when it ends.
func NewRoot() *cobra.Command { return newRoot(&globals{}) }

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "berth",
		Short:         "Berth: run containers; pull, store, push and inspect images",
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPostRun: func(*cobra.Command, []string) {
			if g.conn != nil && !g.keepOpen {
				g.conn.Close()
			}
		},
	}
	addr := os.Getenv("BERTH_ADDRESS")
	if addr == "" {
		addr = DefaultAddress
	}
	ns := os.Getenv("BERTH_NAMESPACE")
	if ns == "" {
		ns = api.DefaultNamespace
	}
	root.PersistentFlags().StringVar(&g.address, "address", addr, "berthd socket (env BERTH_ADDRESS)")
	root.PersistentFlags().StringVarP(&g.namespace, "namespace", "n", ns, "namespace (env BERTH_NAMESPACE)")
	name := g.only
	for _, c := range commands {
		if name == "" || slices.Contains(c.names, name) {
			root.AddCommand(c.build(g)...)
		}
	}
	return root
}

// command is a top-level command: its names (aliases too) and what
// builds it. Some builders make several.
type command struct {
	names []string
	build func(*globals) []*cobra.Command
}

func one(f func(*globals) *cobra.Command) func(*globals) []*cobra.Command {
	return func(g *globals) []*cobra.Command { return []*cobra.Command{f(g)} }
}

// commands are berth's top-level commands. Main builds only the one its
// arguments name: the whole tree (some forty commands, hundreds of flags)
// took 0.25-0.7 ms of every start.
var commands = []command{
	{[]string{"pull"}, one(newPull)}, {[]string{"images", "list"}, one(newImages)},
	{[]string{"image"}, one(newImageCmd)}, {[]string{"rmi"}, one(newRmi)}, {[]string{"tag"}, one(newTag)},
	{[]string{"inspect"}, one(newInspect)}, {[]string{"push"}, one(newPush)}, {[]string{"save"}, one(newSave)},
	{[]string{"load"}, one(newLoad)}, {[]string{"login"}, one(newLogin)}, {[]string{"logout"}, one(newLogout)},
	{[]string{"namespace", "ns"}, one(newNamespace)}, {[]string{"version"}, one(newVersion)},
	{[]string{"info"}, one(newInfo)}, {[]string{"gc"}, one(newGC)}, {[]string{"snapshot", "snapshots"}, one(newSnapshot)},
	{[]string{"run"}, one(newRun)}, {[]string{"create"}, one(newCreate)}, {[]string{"start"}, one(newStart)},
	{[]string{"stop"}, one(newStop)}, {[]string{"kill"}, one(newKill)}, {[]string{"rm"}, one(newRm)},
	{[]string{"ps"}, one(newPs)}, {[]string{"logs"}, one(newLogs)}, {[]string{"exec"}, one(newExec)},
	{[]string{"wait"}, one(newWait)},
	{[]string{"pause"}, one(func(g *globals) *cobra.Command { return newPause(g, true) })},
	{[]string{"unpause"}, one(func(g *globals) *cobra.Command { return newPause(g, false) })},
	{[]string{"rename"}, one(newRename)}, {[]string{"cp"}, one(newCp)}, {[]string{"diff"}, one(newDiff)},
	{[]string{"events"}, one(newEvents)}, {[]string{"container"}, one(newContainerCmd)},
	{[]string{"attach"}, one(newAttach)}, {[]string{"restart"}, one(newRestart)}, {[]string{"port"}, one(newPort)},
	{[]string{"volume"}, one(newVolumeCmd)}, {[]string{"network"}, one(newNetworkCmd)},
	{[]string{"top", "stats", "update", "system"}, statsCommands},
}

// commandName returns the top-level command args name, when it is one
// of commands; else "" (help, completion, a mistyped name: the whole
// tree is built, for cobra's help and suggestions).
func commandName(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			return ""
		case a == "--address" || a == "--namespace" || a == "-n":
			i++ // its value
		case strings.HasPrefix(a, "-"):
		default:
			for _, c := range commands {
				if slices.Contains(c.names, a) {
					return a
				}
			}
			return ""
		}
	}
	return ""
}

// dial connects to berthd (lazily; errors surface on the first call),
// or takes the connection Main started when it goes to the same address.
func (g *globals) dial() (*grpc.ClientConn, error) {
	if g.conn != nil {
		return g.conn, nil
	}
	if e := g.early; e != nil {
		g.early = nil
		if e.addr == g.address {
			g.conn = e.conn
			return e.conn, nil
		}
		e.conn.Close()
	}
	if _, err := os.Stat(g.address); err != nil {
		return nil, fmt.Errorf("%w at %s: is berthd running? start it as root with `berthd` (or point --address or BERTH_ADDRESS at its socket) (%v)", errNoDaemon, g.address, err)
	}
	conn, err := newConn(g.address)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %v", errNoDaemon, g.address, err)
	}
	g.conn = conn
	return conn, nil
}

// newConn makes a client connection to berthd's socket at addr.
func newConn(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient("unix://"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)),
		grpc.WithChainUnaryInterceptor(api.UnaryClientErrors),
		grpc.WithChainStreamInterceptor(api.StreamClientErrors))
}

// ctx returns a context carrying the namespace.
func (g *globals) ctx(cmd *cobra.Command) context.Context {
	return api.WithNamespace(cmd.Context(), g.namespace)
}

// clients bundles the service clients.
type clients struct {
	images     apiv1.ImagesClient
	transfer   apiv1.TransferClient
	ns         apiv1.NamespacesClient
	version    apiv1.VersionClient
	intro      apiv1.IntrospectionClient
	content    apiv1.ContentClient
	snapshots  apiv1.SnapshotsClient
	containers apiv1.ContainersClient
	tasks      apiv1.TasksClient
}

func (g *globals) clients() (*clients, error) {
	conn, err := g.dial()
	if err != nil {
		return nil, err
	}
	return &clients{
		images: apiv1.NewImagesClient(conn), transfer: apiv1.NewTransferClient(conn),
		ns: apiv1.NewNamespacesClient(conn), version: apiv1.NewVersionClient(conn),
		intro: apiv1.NewIntrospectionClient(conn), content: apiv1.NewContentClient(conn),
		snapshots: apiv1.NewSnapshotsClient(conn), containers: apiv1.NewContainersClient(conn),
		tasks: apiv1.NewTasksClient(conn),
	}, nil
}

// humanDuration renders "3 minutes ago" like Docker.
func humanDuration(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "Less than a minute ago"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour") + " ago"
	case d < 14*24*time.Hour:
		return plural(int(d.Hours()/24), "day") + " ago"
	case d < 60*24*time.Hour:
		return plural(int(d.Hours()/24/7), "week") + " ago"
	case d < 2*365*24*time.Hour:
		return plural(int(d.Hours()/24/30), "month") + " ago"
	}
	return plural(int(d.Hours()/24/365), "year") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		if unit == "hour" {
			return "An hour"
		}
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// humanSize renders bytes like Docker (decimal units).
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}
