// Command cripods is bench/cri-pods.sh's driver: it starts N pods of one
// web-server container each through a CRI endpoint, K at a time, as a
// kubelet would (RunPodSandbox, CreateContainer, StartContainer), and
// prints one JSON line: the time to the first and to the last container
// Running, the peak and settled RSS and PSS of the daemon and its per-pod
// processes, and their CPU seconds.
//
//	cripods -endpoint unix:///run/x.sock -daemon-pid 123 -owner /tmp/work \
//	    -image registry.k8s.io/e2e-test-images/busybox:1.29-2 -pull registry.k8s.io/pause:3.9
//
// The processes measured are the daemon, its descendants, and every
// process with an argument under -owner (containerd's shims name their
// daemon's socket there) with its descendants, less the workload: the
// web servers (comm "httpd"). Images are pulled before the clock starts.
// With -remove it removes every pod of its namespace and exits.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// namespace is the pods' Kubernetes namespace; -remove removes its pods.
const namespace = "berth-bench-cripods"

type options struct {
	endpoint, image, owner, logDir string
	pull                           []string
	pods, inFlight, daemonPID      int
	settle, later                  time.Duration
	command                        []string
}

func main() {
	var o options
	var pull, command string
	remove := flag.Bool("remove", false, "remove every pod this driver made and exit")
	flag.StringVar(&o.endpoint, "endpoint", "", "CRI endpoint (unix:///path)")
	flag.StringVar(&o.image, "image", "", "the web server container's image (pulled before timing)")
	flag.StringVar(&pull, "pull", "", "more images to pull before timing, comma-separated (the sandbox image)")
	flag.StringVar(&command, "command", "httpd -f -p 80 -h /var/www", "the container's command, space-separated")
	flag.StringVar(&o.owner, "owner", "", "directory whose paths in a process's arguments make it one of the daemon's")
	flag.StringVar(&o.logDir, "log-dir", "", "directory for the pods' logs (default <owner>/pod-logs)")
	flag.IntVar(&o.pods, "pods", 105, "pods to start")
	flag.IntVar(&o.inFlight, "parallel", 10, "pods started at once")
	flag.IntVar(&o.daemonPID, "daemon-pid", 0, "the CRI daemon's pid")
	flag.DurationVar(&o.settle, "settle", 2*time.Second, "wait after the last Running before the settled sample")
	flag.DurationVar(&o.later, "later", 0, "wait after the settled sample before a later one (0: none)")
	flag.Parse()
	o.command = strings.Fields(command)
	if pull != "" {
		o.pull = strings.Split(pull, ",")
	}
	if err := run(o, *remove); err != nil {
		fmt.Fprintln(os.Stderr, "cripods:", err)
		os.Exit(1)
	}
}

func run(o options, remove bool) error {
	if !strings.HasPrefix(o.endpoint, "unix:///") {
		return fmt.Errorf("-endpoint %q: want unix:///path", o.endpoint)
	}
	conn, err := grpc.NewClient(o.endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("connect %s: %w", o.endpoint, err)
	}
	defer conn.Close()
	rc, ic := runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
	ctx := context.Background()
	if remove {
		return removeAll(ctx, rc)
	}
	if err := o.check(); err != nil {
		return err
	}
	for _, img := range append([]string{o.image}, o.pull...) {
		if _, err := ic.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: img}}); err != nil {
			return fmt.Errorf("pull %s: %w", img, err)
		}
	}
	res, err := start(ctx, rc, o)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func (o *options) check() error {
	switch {
	case o.image == "":
		return errors.New("give -image")
	case o.owner == "" || !strings.HasPrefix(o.owner, "/"):
		return errors.New("give -owner, an absolute directory")
	case o.daemonPID <= 0:
		return errors.New("give -daemon-pid")
	case o.pods < 1 || o.inFlight < 1:
		return errors.New("-pods and -parallel must be at least 1")
	case len(o.command) == 0:
		return errors.New("-command is empty")
	}
	if o.logDir == "" {
		o.logDir = o.owner + "/pod-logs"
	}
	return nil
}

// removeAll stops and removes the pods of the driver's namespace.
func removeAll(ctx context.Context, rc runtimeapi.RuntimeServiceClient) error {
	resp, err := rc.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	var errs []error
	for _, p := range resp.GetItems() {
		if p.GetMetadata().GetNamespace() != namespace {
			continue
		}
		if _, err := rc.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
			errs = append(errs, fmt.Errorf("stop pod %s: %w", p.GetId(), err))
		}
		if _, err := rc.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
			errs = append(errs, fmt.Errorf("remove pod %s: %w", p.GetId(), err))
		}
	}
	return errors.Join(errs...)
}
