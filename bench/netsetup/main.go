// Command netsetup times Berth's network setup and teardown for one
// container: make a netns, attach it to a bridge network with one
// published port, detach, remove the netns. bench/netsetup.sh runs it
// side by side with Podman's.
//
// It prints one line "RESULT berth MEDIAN_MS MIN_MS MAX_MS N" and leaves
// nothing behind: the network it creates is removed, its state directory
// too.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/netns"
	"github.com/berth-dev/berth/network/ports"
)

func main() {
	n := flag.Int("n", 20, "iterations")
	warmup := flag.Int("warmup", 2, "untimed iterations first")
	port := flag.Int("port", 18080, "published host port")
	subnet := flag.String("subnet", "10.67.0.0/24", "the bench network's subnet")
	flag.Parse()
	if err := run(*n, *warmup, uint16(*port), *subnet); err != nil {
		fmt.Fprintln(os.Stderr, "netsetup:", err)
		os.Exit(1)
	}
}

func run(n, warmup int, port uint16, subnet string) (err error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "berth-bench-net-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	m, err := network.New(network.Options{StateDir: dir})
	if err != nil {
		return err
	}
	const name = "berth-bench"
	if _, err := m.Create(ctx, network.NetworkConfig{Name: name, Subnet: subnet, Internal: true}); err != nil {
		return err
	}
	defer func() {
		if rerr := m.Remove(ctx, name); err == nil {
			err = rerr
		}
	}()
	var times []time.Duration
	for i := range warmup + n {
		start := time.Now()
		if err := once(ctx, m, fmt.Sprintf("bench-%d", i), name, port); err != nil {
			return err
		}
		if i >= warmup {
			times = append(times, time.Since(start))
		}
	}
	slices.Sort(times)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("RESULT berth %.2f %.2f %.2f %d\n", ms(times[len(times)/2]), ms(times[0]), ms(times[len(times)-1]), len(times))
	return nil
}

// once is one container's network life: netns, ADD with -p PORT:80, DEL.
func once(ctx context.Context, m *network.Manager, id, net string, port uint16) error {
	p, err := netns.Create(m.NetnsDir(), id)
	if err != nil {
		return err
	}
	defer func() { _ = netns.Remove(p) }() // idempotent; the error that matters is the last Remove
	if _, err := m.Attach(ctx, p, id, net, network.AttachOptions{
		Ports: []ports.Mapping{{HostPort: port, ContainerPort: 80, Protocol: "tcp"}}}); err != nil {
		return err
	}
	if err := m.Detach(ctx, id, net); err != nil {
		return err
	}
	return netns.Remove(p)
}
