package cli

import (
	"context"
	"fmt"
	"os"
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
	root.AddCommand(
		newPull(g), newImages(g), newImageCmd(g), newRmi(g), newTag(g), newInspect(g), newPush(g),
		newSave(g), newLoad(g), newLogin(g), newLogout(g), newNamespace(g), newVersion(g), newInfo(g),
		newGC(g), newSnapshot(g),
		newRun(g), newCreate(g), newStart(g), newStop(g), newKill(g), newRm(g), newPs(g), newLogs(g),
		newExec(g), newWait(g), newPause(g, true), newPause(g, false), newRename(g),
		newCp(g), newDiff(g), newEvents(g), newContainerCmd(g), newAttach(g), newRestart(g), newPort(g),
	)
	root.AddCommand(newVolumeCmd(g))
	root.AddCommand(newNetworkCmd(g))
	root.AddCommand(statsCommands(g)...)
	return root
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
