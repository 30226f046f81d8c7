package containers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestRunForwardsSignals: `run` creates its container in the attach's
// stream and still knows it by id: a SIGTERM to berth reaches the
// container, whose exit code is berth's; the --rm container then goes.
func TestRunForwardsSignals(t *testing.T) {
	e := newEnv(t)
	cmd := exec.Command(filepath.Join(bin, "berth"), "--address", e.sock, "run", "--rm", e.ref,
		"sh", "-c", `trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done`)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(e.dir, "cfg"), "DOCKER_CONFIG="+filepath.Join(e.dir, "docker"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(cliTimeout, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("container's first line %q: %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("berth run after SIGTERM: %v, want exit code 7", err)
	}
	e.nothingLeft()
}

// TestAttachCreateBadInput: an attach that would create its container
// must start it and name no container; its config must decode. Each
// refusal is InvalidArgument and creates nothing.
func TestAttachCreateBadInput(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	raw, _ := json.Marshal(container.Config{Image: e.ref, Cmd: []string{"true"}})
	conn, err := grpc.NewClient("unix://"+e.sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tasks := apiv1.NewTasksClient(conn)
	for _, tc := range []struct {
		name string
		a    *apiv1.AttachStart
	}{
		{"with an id", &apiv1.AttachStart{Id: "x", Start: true, Create: raw}},
		{"not started", &apiv1.AttachStart{Create: raw}},
		{"bad config", &apiv1.AttachStart{Start: true, Create: []byte("{")}},
	} {
		ctx, cancel := context.WithTimeout(api.WithNamespace(context.Background(), api.DefaultNamespace), cliTimeout)
		stream, err := tasks.Attach(ctx)
		if err == nil {
			err = stream.Send(&apiv1.StdioFrame{Attach: tc.a})
		}
		if err == nil {
			_, err = stream.Recv()
		}
		cancel()
		if !errors.Is(api.FromStatus(err), errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want invalid argument", tc.name, err)
		}
	}
	if out := e.ok("ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("refused attaches created containers: %s", out)
	}
}
