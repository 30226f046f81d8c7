package local_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/content/local"
)

var resumeData = bytes.Repeat([]byte("0123456789abcdef"), 400000) // 6.4 MB

const resumeChildEnv = "BERTH_TEST_INGEST_CHILD_ROOT"

// TestResumeAfterKill kills a writer process midway (no Close, no
// Commit) and checks that the next writer resumes where the bytes on disk
// end and commits a verified blob.
func TestResumeAfterKill(t *testing.T) {
	ctx := context.Background()
	dgst := digest.FromBytes(resumeData)
	if root := os.Getenv(resumeChildEnv); root != "" {
		s, err := local.NewStore(root)
		if err != nil {
			os.Exit(2)
		}
		w, err := s.Writer(ctx, content.WriterOpts{Ref: "pull", Expected: dgst, Size: int64(len(resumeData))})
		if err != nil {
			os.Exit(2)
		}
		if _, err := w.Write(resumeData[:4<<20]); err != nil {
			os.Exit(2)
		}
		os.Exit(3) // "killed": nothing closed, flushed or committed
	}
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestResumeAfterKill$")
	cmd.Env = append(os.Environ(), resumeChildEnv+"="+root)
	var ee *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("child: %v", err)
	}
	s, err := local.NewStore(root)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Writer(ctx, content.WriterOpts{Ref: "pull", Expected: dgst, Size: int64(len(resumeData))})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	st, _ := w.Status()
	if st.Offset <= 0 || st.Offset > 4<<20 {
		t.Fatalf("resume offset %d", st.Offset)
	}
	if _, err := w.Write(resumeData[st.Offset:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx, int64(len(resumeData)), dgst, nil); err != nil {
		t.Fatalf("commit after resume: %v", err)
	}
	if info, err := s.Info(ctx, dgst); err != nil || info.Size != int64(len(resumeData)) {
		t.Fatalf("blob after resume: %+v %v", info, err)
	}
}
