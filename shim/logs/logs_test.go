package logs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixedClock returns times one second apart from a fixed start.
func fixedClock() func() time.Time {
	t := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func newTestWriter(t *testing.T, opts Options) (*Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctr.log")
	w, err := NewWriter(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.now = fixedClock()
	t.Cleanup(func() { w.Close() })
	return w, path
}

func readAll(t *testing.T, path string, opts ReadOptions) []string {
	t.Helper()
	var got []string
	err := Read(context.Background(), path, opts, func(e Entry) error {
		got = append(got, e.Stream+":"+string(e.Line))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWriteCRIFormat(t *testing.T) {
	w, path := newTestWriter(t, Options{})
	if _, err := w.Stream(Stdout).Write([]byte("hello\nwor")); err != nil {
		t.Fatal(err)
	}
	errw := w.Stream(Stderr)
	errw.Write([]byte("oops\n"))
	out := w.Stream(Stdout)
	out.Write([]byte("ld"))
	out.Flush()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "2026-01-02T03:04:06.000000006Z stdout F hello\n" +
		"2026-01-02T03:04:07.000000006Z stderr F oops\n" +
		"2026-01-02T03:04:08.000000006Z stdout F ld\n"
	if string(b) != want {
		t.Fatalf("log is\n%s\nwant\n%s", b, want)
	}
}

func TestWritePartialLines(t *testing.T) {
	w, path := newTestWriter(t, Options{MaxLine: 4})
	s := w.Stream(Stdout)
	s.Write([]byte("abcdefghij"))
	s.Write([]byte("k\nxy\n"))
	b, _ := os.ReadFile(path)
	var tags []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(l, " ", 4)
		tags = append(tags, f[2]+" "+f[3])
	}
	want := []string{"P abcd", "P efgh", "F ijk", "F xy"}
	if strings.Join(tags, "|") != strings.Join(want, "|") {
		t.Fatalf("records %q, want %q", tags, want)
	}
	if got := readAll(t, path, ReadOptions{}); strings.Join(got, "|") != "stdout:abcdefghijk|stdout:xy" {
		t.Fatalf("read %q", got)
	}
}

func TestRotateKeepsMaxFiles(t *testing.T) {
	w, path := newTestWriter(t, Options{MaxSize: 100, MaxFiles: 3})
	s := w.Stream(Stdout)
	for i := 0; i < 10; i++ {
		s.Write([]byte(strings.Repeat(string(rune('a'+i)), 20) + "\n"))
	}
	files, err := Files(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files[0] != path+".2" || files[1] != path+".1" || files[2] != path {
		t.Fatalf("files %q, want %s.2 %s.1 %s", files, path, path, path)
	}
	for _, f := range files {
		if st, _ := os.Stat(f); st.Size() > 100 {
			t.Errorf("%s is %d bytes, over 100", f, st.Size())
		}
	}
	got := readAll(t, path, ReadOptions{})
	// Each record is 53 bytes: one per file, the newest three lines kept.
	want := []string{"stdout:" + strings.Repeat("h", 20), "stdout:" + strings.Repeat("i", 20), "stdout:" + strings.Repeat("j", 20)}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("read %q, want %q", got, want)
	}
}

func TestReadAcrossRotatedFilesTailAndTime(t *testing.T) {
	w, path := newTestWriter(t, Options{MaxSize: 120, MaxFiles: 10})
	s := w.Stream(Stdout)
	for i := 1; i <= 6; i++ {
		s.Write([]byte{byte('0' + i), '\n'})
	}
	if files, _ := Files(path); len(files) < 3 {
		t.Fatalf("expected rotation, files %q", files)
	}
	if got := readAll(t, path, ReadOptions{}); strings.Join(got, ",") != "stdout:1,stdout:2,stdout:3,stdout:4,stdout:5,stdout:6" {
		t.Fatalf("all: %q", got)
	}
	if got := readAll(t, path, ReadOptions{Tail: 2}); strings.Join(got, ",") != "stdout:5,stdout:6" {
		t.Fatalf("tail 2: %q", got)
	}
	if got := readAll(t, path, ReadOptions{Tail: -1}); len(got) != 0 {
		t.Fatalf("tail -1: %q", got)
	}
	// Line i was written at start + i seconds.
	base := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	got := readAll(t, path, ReadOptions{Since: base.Add(2 * time.Second), Until: base.Add(4 * time.Second)})
	if strings.Join(got, ",") != "stdout:2,stdout:3,stdout:4" {
		t.Fatalf("since/until: %q", got)
	}
}

func TestReadBadRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.log")
	os.WriteFile(path, []byte("not a record\n"), 0o600)
	err := Read(context.Background(), path, ReadOptions{}, func(Entry) error { return nil })
	if !errors.Is(err, ErrBadRecord) {
		t.Fatalf("err %v, want ErrBadRecord", err)
	}
}

func TestFollowAcrossRotation(t *testing.T) {
	w, path := newTestWriter(t, Options{MaxSize: 100, MaxFiles: 5})
	s := w.Stream(Stdout)
	s.Write([]byte("first\n"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		done <- Read(ctx, path, ReadOptions{Follow: true, Poll: time.Millisecond}, func(e Entry) error {
			lines <- string(e.Line)
			return nil
		})
	}()
	if l := <-lines; l != "first" {
		t.Fatalf("first line %q", l)
	}
	// Each record is ~50 bytes: these rotate the file twice.
	for _, l := range []string{"second", "third", "fourth"} {
		s.Write([]byte(l + "\n"))
		if got := <-lines; got != l {
			t.Fatalf("followed %q, want %q", got, l)
		}
	}
	if files, _ := Files(path); len(files) < 2 {
		t.Fatalf("expected rotation, files %q", files)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("follow returned %v, want context.Canceled", err)
	}
}

// TestReopenAfterRename: after the kubelet renames the log, Reopen makes
// a new file at the path; later lines go there and the renamed one stops
// growing. A path that cannot be opened keeps the old file in use.
func TestReopenAfterRename(t *testing.T) {
	w, path := newTestWriter(t, Options{})
	out := w.Stream(Stdout)
	if _, err := out.Write([]byte("before\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	if _, err := out.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, path, ReadOptions{}); strings.Join(got, ",") != "stdout:after" {
		t.Errorf("new file holds %q, want only the line after the reopen", got)
	}
	if got := readAll(t, path+".old", ReadOptions{}); strings.Join(got, ",") != "stdout:before" {
		t.Errorf("renamed file holds %q, want only the line before", got)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil { // the path is now a directory: cannot open for writing
		t.Fatal(err)
	}
	if err := w.Reopen(); err == nil {
		t.Fatal("Reopen onto a directory succeeded")
	}
	if _, err := out.Write([]byte("still\n")); err != nil {
		t.Errorf("write after a failed Reopen: %v", err)
	}
	w.Close()
	if err := w.Reopen(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Reopen after Close = %v, want os.ErrClosed", err)
	}
}
