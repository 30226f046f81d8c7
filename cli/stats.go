package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/cli/runopts"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// statsCommands are top, stats, update and system df.
func statsCommands(g *globals) []*cobra.Command {
	system := &cobra.Command{Use: "system", Short: "Manage Berth"}
	system.AddCommand(newSystemDf(g))
	return []*cobra.Command{newTop(g), newStats(g), newUpdate(g), system}
}

func (g *globals) statsClient() (apiv1.ContainerStatsClient, error) {
	conn, err := g.dial()
	if err != nil {
		return nil, err
	}
	return apiv1.NewContainerStatsClient(conn), nil
}

func newTop(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Show the processes of a running container (with ps options: the host's ps, filtered)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.statsClient()
			if err != nil {
				return err
			}
			resp, err := c.Top(g.ctx(cmd), &apiv1.TopRequest{Id: args[0], PsArgs: args[1:]})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, strings.Join(resp.GetTitles(), "\t"))
			for _, p := range resp.GetProcesses() {
				fmt.Fprintln(tw, strings.Join(p.GetFields(), "\t"))
			}
			return tw.Flush()
		},
	}
	// ps options after the container, such as -o pid,args, are not berth's.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func newStats(g *globals) *cobra.Command {
	var noStream bool
	var format string
	cmd := &cobra.Command{
		Use:   "stats [flags] [CONTAINER...]",
		Short: "Show the resource usage of containers (every running one by default)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "" && format != "json" && format != "table" {
				return usageError("--format is table or json")
			}
			c, err := g.statsClient()
			if err != nil {
				return err
			}
			sample := func() ([]*apiv1.ContainerStatsSample, error) {
				resp, err := c.Stats(g.ctx(cmd), &apiv1.StatsRequest{Ids: args})
				return resp.GetStats(), err
			}
			prev, err := sample()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select { // CPU % needs a second sample
				case <-ctx.Done():
					return nil
				case <-tick.C:
				}
				cur, err := sample()
				if err != nil {
					return err
				}
				if !noStream && format != "json" {
					fmt.Fprint(cmd.OutOrStdout(), "\033[2J\033[H")
				}
				if err := printStats(cmd.OutOrStdout(), prev, cur, format == "json"); err != nil || noStream {
					return err
				}
				prev = cur
			}
		},
	}
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "print one sample and exit")
	cmd.Flags().StringVar(&format, "format", "", "table or json (one object per container)")
	return cmd
}

// statsRow is one container's line of `stats`, also its JSON.
type statsRow struct {
	ID       string `json:"ID"`
	Name     string `json:"Name"`
	CPUPerc  string `json:"CPUPerc"`
	MemUsage string `json:"MemUsage"`
	MemPerc  string `json:"MemPerc"`
	NetIO    string `json:"NetIO"`
	BlockIO  string `json:"BlockIO"`
	PIDs     string `json:"PIDs"`
}

func printStats(w io.Writer, prev, cur []*apiv1.ContainerStatsSample, asJSON bool) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS")
	}
	for _, s := range cur {
		cpu := 0.0
		for _, p := range prev {
			if p.GetId() == s.GetId() && s.GetSystemCpu() > p.GetSystemCpu() && s.GetCpuTotal() >= p.GetCpuTotal() {
				cpu = float64(s.GetCpuTotal()-p.GetCpuTotal()) / float64(s.GetSystemCpu()-p.GetSystemCpu()) * float64(s.GetOnlineCpus()) * 100
			}
		}
		mem := 0.0
		if s.GetMemoryLimit() > 0 {
			mem = float64(s.GetMemoryUsage()) / float64(s.GetMemoryLimit()) * 100
		}
		r := statsRow{
			ID: shortID(s.GetId()), Name: s.GetName(), CPUPerc: fmt.Sprintf("%.2f%%", cpu),
			MemUsage: binarySize(s.GetMemoryUsage()) + " / " + binarySize(s.GetMemoryLimit()), MemPerc: fmt.Sprintf("%.2f%%", mem),
			NetIO:   humanSize(int64(s.GetNetRx())) + " / " + humanSize(int64(s.GetNetTx())),
			BlockIO: humanSize(int64(s.GetBlockRead())) + " / " + humanSize(int64(s.GetBlockWrite())),
			PIDs:    fmt.Sprint(s.GetPids()),
		}
		if asJSON {
			b, _ := json.Marshal(r)
			fmt.Fprintln(w, string(b))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs)
	}
	return tw.Flush()
}

// binarySize renders bytes in binary units as Docker's stats does (64MiB).
func binarySize(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.4g%s", f, units[i])
}

func newUpdate(g *globals) *cobra.Command {
	var memory, cpus string
	var pids int64
	var shares uint64
	cmd := &cobra.Command{
		Use:   "update [flags] CONTAINER...",
		Short: "Change the resource limits of containers (at once when they run)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &apiv1.UpdateRequest{}
			fl := cmd.Flags()
			if fl.Changed("memory") {
				n, err := runopts.ParseBytes(memory)
				if err != nil {
					return usageError("--memory %q: %v", memory, err)
				}
				req.Memory = &n
			}
			if fl.Changed("cpus") {
				n, err := runopts.ParseNanoCPUs(cpus)
				if err != nil {
					return usageError("--cpus %q: %v", cpus, err)
				}
				req.NanoCpus = &n
			}
			if fl.Changed("pids-limit") {
				req.PidsLimit = &pids
			}
			if fl.Changed("cpu-shares") {
				req.CpuShares = &shares
			}
			c, err := g.statsClient()
			if err != nil {
				return err
			}
			return g.eachContainer(cmd, args, func(_ *clients, id string) error {
				r := proto.CloneOf(req)
				r.Id = id
				_, err := c.Update(g.ctx(cmd), r)
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&memory, "memory", "m", "", "memory limit (64m, 1g)")
	cmd.Flags().StringVar(&cpus, "cpus", "", "number of CPUs (1.5)")
	cmd.Flags().Int64Var(&pids, "pids-limit", 0, "maximum number of processes (0 for unlimited)")
	cmd.Flags().Uint64Var(&shares, "cpu-shares", 0, "relative CPU weight")
	return cmd
}

func newSystemDf(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "df",
		Short: "Show the disk space images, containers and volumes use",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.statsClient()
			if err != nil {
				return err
			}
			resp, err := c.DiskUsage(g.ctx(cmd), &emptypb.Empty{})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
			for _, r := range resp.GetRows() {
				pct := 0
				if r.GetSize() > 0 {
					pct = int(r.GetReclaimable() * 100 / r.GetSize())
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s (%d%%)\n", r.GetType(), r.GetTotal(), r.GetActive(), humanSize(int64(r.GetSize())), humanSize(int64(r.GetReclaimable())), pct)
			}
			return tw.Flush()
		},
	}
}
