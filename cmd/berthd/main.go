// Command berthd is Berth's image daemon: it serves the gRPC API on a
// unix socket and keeps content, snapshots and image metadata.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/berth-dev/berth/daemon"
	"github.com/berth-dev/berth/version"
	"github.com/spf13/cobra"
)

func main() {
	// Pulls allocate in bursts (read-ahead, copy buffers): collect sooner
	// than Go's default to keep the daemon's peak RSS low, unless the
	// operator chose a GOGC.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "berthd:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	var (
		configPath string
		root       string
		state      string
		address    string
		logLevel   string
		metrics    string
		criAddr    string
		dockerAddr string
		dockerTCP  string
		dockerCA   string
		dockerCert string
		dockerKey  string
	)
	cmd := &cobra.Command{
		Use:           "berthd",
		Short:         "Berth's image daemon",
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := daemon.LoadConfig(configPath, cmd.Flags().Changed("config"))
			if err != nil {
				return err
			}
			// A flag given on the command line wins over the file.
			for _, o := range []struct {
				flag string
				dst  *string
				val  string
			}{
				{"root", &cfg.Root, root}, {"state", &cfg.State, state}, {"address", &cfg.Address, address},
				{"log-level", &cfg.LogLevel, logLevel}, {"metrics-address", &cfg.Metrics.Address, metrics},
				{"cri-address", &cfg.CRI.Address, criAddr}, {"docker-address", &cfg.Docker.Address, dockerAddr},
				{"docker-tcp-address", &cfg.Docker.TCPAddress, dockerTCP}, {"docker-tls-ca", &cfg.Docker.TLSCA, dockerCA},
				{"docker-tls-cert", &cfg.Docker.TLSCert, dockerCert}, {"docker-tls-key", &cfg.Docker.TLSKey, dockerKey},
			} {
				if cmd.Flags().Changed(o.flag) {
					*o.dst = o.val
				}
			}
			log, err := daemon.NewLogger(os.Stderr, cfg.LogLevel)
			if err != nil {
				return err
			}
			d, err := daemon.New(cfg, log)
			if err != nil {
				return err
			}
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
			go func() {
				s := <-sigs
				log.Info("signal received", "signal", s.String())
				d.Stop(10 * time.Second)
			}()
			return d.Serve()
		},
	}
	f := cmd.Flags()
	def := daemon.DefaultConfig()
	f.StringVar(&configPath, "config", "/etc/berth/config.toml", "configuration file")
	f.StringVar(&root, "root", def.Root, "directory for persistent data")
	f.StringVar(&state, "state", def.State, "directory for runtime state")
	f.StringVar(&address, "address", def.Address, "unix socket to serve the API on")
	f.StringVar(&logLevel, "log-level", def.LogLevel, "debug, info, warn or error")
	f.StringVar(&criAddr, "cri-address", "", "unix socket to serve the Kubernetes CRI on (default cri.sock in the state directory)")
	f.StringVar(&dockerAddr, "docker-address", "", "unix socket to serve the Docker Engine API on (default docker.sock in the state directory)")
	f.StringVar(&dockerTCP, "docker-tcp-address", "", "also serve the Docker Engine API on this loopback IP:port, with TLS client auth (needs the three --docker-tls flags)")
	f.StringVar(&dockerCA, "docker-tls-ca", "", "PEM CA bundle the Docker API's TLS clients' certificates are verified against")
	f.StringVar(&dockerCert, "docker-tls-cert", "", "PEM certificate of the Docker API's TLS listener")
	f.StringVar(&dockerKey, "docker-tls-key", "", "PEM key of the Docker API's TLS listener")
	f.StringVar(&metrics, "metrics-address", def.Metrics.Address, "serve Prometheus /metrics on a loopback host:port or unix:///path (off when empty)")

	cfgCmd := &cobra.Command{Use: "config", Short: "Configuration helpers"}
	cfgCmd.AddCommand(&cobra.Command{
		Use:   "default",
		Short: "Print the default configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return daemon.DefaultConfig().WriteTOML(cmd.OutOrStdout())
		},
	})
	cmd.AddCommand(cfgCmd)
	return cmd
}
