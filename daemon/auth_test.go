package daemon_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/daemon"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// pullAPI pulls ref through the gRPC API with exactly the given client
// credentials (the CLI would add its own).
func (td *testDaemon) pullAPI(t *testing.T, ref string, auth ...*apiv1.RegistryAuth) error {
	t.Helper()
	conn := td.conn(t)
	stream, err := apiv1.NewTransferClient(conn).Pull(context.Background(), &apiv1.PullRequest{Ref: ref, NoUnpack: true, Auth: auth})
	if err != nil {
		return err
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// TestDaemonLendsNoCredentials: berthd never uses its own user's logins
// (Berth's auth file, Docker's config.json) for a client; a client's pull
// uses what the client sends (the CLI: from its credential helper), else
// what berthd's config declares for the host (registry.auths).
func TestDaemonLendsNoCredentials(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{Username: "berth", Password: "s3cret"})
	reg.PushBusybox(t, "test/bb", "v1", registrytest.Gzip, false)
	ref := reg.Host + "/test/bb:v1"
	good := credentials.Credentials{Username: "berth", Password: "s3cret"}

	td := startDaemon(t, nil)
	homeFiles := []string{filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "berth", "auth.json"), filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json")}
	for _, p := range homeFiles {
		if err := credentials.SaveCredentials(p, reg.Host, good); err != nil {
			t.Fatal(err)
		}
	}
	if err := td.pullAPI(t, ref); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("pull without client credentials while berthd's user is logged in: want Unauthenticated, got %v", err)
	}

	// The CLI sends what its Docker credential helper holds.
	for _, p := range homeFiles {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	bin := t.TempDir()
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	helper := "#!/bin/sh\nread -r server\n[ \"$1 $server\" = 'get " + reg.Host + "' ] || { echo 'credentials not found in native keychain'; exit 1; }\necho '{\"Username\":\"berth\",\"Secret\":\"s3cret\"}'\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-berthtest"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(homeFiles[1], []byte(`{"credHelpers":{"`+reg.Host+`":"berthtest"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	td.ok(t, "pull", "--no-unpack", ref)

	// Credentials declared in berthd's config serve clients that send
	// none, and do not replace those a client sends.
	td2 := startDaemon(t, func(c *daemon.Config) {
		c.Registry.Auths = map[string]daemon.RegistryAuth{reg.Host: {Username: good.Username, Password: good.Password}}
	})
	if err := td2.pullAPI(t, ref, &apiv1.RegistryAuth{Host: reg.Host, Username: "berth", Password: "wrong"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("pull with wrong client credentials: want Unauthenticated, got %v", err)
	}
	if err := td2.pullAPI(t, ref); err != nil {
		t.Fatalf("pull with credentials from berthd's config: %v", err)
	}
}
