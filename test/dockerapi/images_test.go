package dockerapi_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/registrytest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// pushLayered puts a two-layer image (busybox, then /greeting) with a
// label and a history of three steps, one of them empty, into the
// env's registry as test/layered:v1 and returns its reference.
func (e *env) pushLayered() string {
	e.t.Helper()
	bb, err := registrytest.BusyboxEntries()
	if err != nil {
		e.t.Fatal(err)
	}
	at := func(sec int64) *time.Time { t := time.Unix(sec, 0).UTC(); return &t }
	img, err := registrytest.BuildImage([][]registrytest.Entry{bb, {{Name: "greeting", Mode: 0o644, Data: []byte("hello from a layer\n")}}},
		registrytest.ImageOptions{Compression: registrytest.Gzip, Labels: map[string]string{"berth.test": "layered"}, History: []ocispec.History{
			{Created: at(1700000000), CreatedBy: "ADD busybox /"},
			{Created: at(1700000100), CreatedBy: "ENV GREETING=hello", EmptyLayer: true},
			{Created: at(1700000200), CreatedBy: "COPY greeting /greeting"},
		}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.reg.PushImage(e.t, "test/layered", "v1", img)
	return e.reg.Host + "/test/layered:v1"
}

// blobs lists the content store's blobs and the committed snapshots.
func (e *env) blobs() []string {
	e.t.Helper()
	var out []string
	for _, glob := range []string{"root/content/blobs/*/*", "root/snapshots/*/snapshots/*"} {
		m, err := filepath.Glob(filepath.Join(e.dir, glob))
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m...)
	}
	return out
}

// registryHas tells whether the env's registry serves repo:tag.
func (e *env) registryHas(repo, tag string) bool {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodHead, e.reg.URL()+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", ocispec.MediaTypeImageManifest)
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestImageTagPushRemove tags a pulled image into a new repository of
// the registry, pushes it (one tag, then every tag), removes both names
// (the first only untags, the last deletes and collects its content)
// and pulls the pushed image back to run it.
func TestImageTagPushRemove(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	id := e.ok("image", "inspect", "--format", "{{.Id}}", e.ref)
	if len(e.blobs()) == 0 {
		t.Fatalf("e.blobs finds no content after a pull: its globs are wrong")
	}
	pushed := e.reg.Host + "/pushed/bb"
	e.ok("tag", e.ref, pushed+":v2")
	if got := e.ok("images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}", "--no-trunc"); got != id+" "+pushed+":v2\n"+id+" "+e.ref &&
		got != id+" "+e.ref+"\n"+id+" "+pushed+":v2" {
		t.Errorf("docker images after tag: %q", got)
	}
	out := e.ok("push", pushed+":v2")
	if !strings.Contains(out, "The push refers to repository ["+pushed+"]") || !strings.Contains(out, "v2: digest: sha256:") ||
		!strings.Contains(out, "Pushed") && !strings.Contains(out, "Layer already exists") {
		t.Errorf("docker push printed %q", out)
	}
	if !e.registryHas("pushed/bb", "v2") {
		t.Errorf("the registry has no pushed/bb:v2 after the push")
	}
	e.ok("tag", pushed+":v2", pushed+":v3")
	if out := e.ok("push", "--all-tags", pushed); !strings.Contains(out, "v2: digest:") || !strings.Contains(out, "v3: digest:") {
		t.Errorf("docker push --all-tags printed %q", out)
	}
	if !e.registryHas("pushed/bb", "v3") {
		t.Errorf("the registry has no pushed/bb:v3 after the push")
	}
	e.fails("An image does not exist locally with the tag: "+pushed, "push", pushed+":nope")
	e.fails("No such image: nope:latest", "tag", "nope:latest", "x:1")

	if got := e.ok("rmi", pushed+":v2", pushed+":v3"); got != "Untagged: "+pushed+":v2\nUntagged: "+pushed+":v3" {
		t.Errorf("docker rmi of two of three names: %q", got)
	}
	got := e.ok("rmi", e.ref)
	if want := "Untagged: " + e.ref + "\nUntagged: " + e.reg.Host + "/test/busybox@sha256:"; !strings.HasPrefix(got, want) ||
		!strings.HasSuffix(got, "\nDeleted: "+id) {
		t.Errorf("docker rmi of the last name: %q, want %q…Deleted: %s", got, want, id)
	}
	if left := e.blobs(); len(left) != 0 {
		t.Errorf("content left after the last rmi: %v", left)
	}
	e.fails("No such image: "+e.ref, "rmi", e.ref)

	e.ok("pull", "-q", pushed+":v2")
	if got := e.ok("image", "inspect", "--format", "{{.Id}}", pushed+":v2"); got != id {
		t.Errorf("the image pulled back has ID %s, want %s", got, id)
	}
	if got := e.ok("run", "--rm", pushed+":v2", "echo", "back"); got != "back" {
		t.Errorf("docker run of the image pulled back: %q", got)
	}
	e.ok("rmi", pushed+":v2")
	if got := e.ok("images", "-q"); got != "" {
		t.Errorf("images left: %q", got)
	}
	e.nothingLeft()
}

// TestImageRemoveConflictAndPrune refuses to remove an image a stopped
// container uses unless forced, checks docker images' filters, and has
// docker image prune remove nothing (no image is dangling) and, with
// -a, exactly the images no container uses.
func TestImageRemoveConflictAndPrune(t *testing.T) {
	e := newEnv(t)
	layered := e.pushLayered()
	e.ok("pull", "-q", e.ref)
	e.ok("pull", "-q", layered)
	ctr := e.ok("create", "--name", "user", e.ref, "true")
	bbID := e.ok("image", "inspect", "--format", "{{.Id}}", e.ref)

	errs := e.fails("conflict: unable to remove repository reference", "rmi", e.ref)
	if !strings.Contains(errs, "(must force) - container "+ctr[:12]+" is using its referenced image "+strings.TrimPrefix(bbID, "sha256:")[:12]) {
		t.Errorf("docker rmi of a used image: %q", errs)
	}
	_, errs, code := e.docker("rmi", "nope:1", e.ref)
	if code == 0 || !strings.Contains(errs, "No such image: nope:1") || !strings.Contains(errs, "conflict: unable to remove") {
		t.Errorf("docker rmi of a missing and a used image: exit %d, %q", code, errs)
	}

	for filter, want := range map[string]string{
		"label=berth.test=layered": layered, "label=berth.test": layered, "label=berth.test=other": "",
		"reference=*/test/lay*": layered, "reference=" + e.ref: e.ref, "dangling=true": "",
	} {
		if got := e.ok("images", "--filter", filter, "--format", "{{.Repository}}:{{.Tag}}"); got != want {
			t.Errorf("docker images --filter %s: %q, want %q", filter, got, want)
		}
	}
	if got := e.ok("images", "--filter", "dangling=false", "-q"); len(strings.Fields(got)) != 2 {
		t.Errorf("docker images --filter dangling=false: %q", got)
	}
	e.fails("invalid filter 'colour'", "images", "--filter", "colour=blue")

	if out := e.ok("image", "prune", "-f"); strings.Contains(out, "untagged") || strings.Contains(out, "deleted") {
		t.Errorf("docker image prune (dangling only) removed something: %q", out)
	}
	if out := e.ok("image", "prune", "-a", "-f", "--filter", "label=berth.test=other"); strings.Contains(out, "deleted") {
		t.Errorf("docker image prune -a with a label no image has removed something: %q", out)
	}
	if out := e.ok("image", "prune", "-a", "-f", "--filter", "until=2020-01-01"); strings.Contains(out, "deleted") {
		t.Errorf("docker image prune -a until 2020 removed something: %q", out)
	}
	out := e.ok("image", "prune", "-a", "-f")
	if !strings.Contains(out, "untagged: "+layered) || strings.Count(out, "deleted: sha256:") != 1 || strings.Contains(out, e.ref) {
		t.Errorf("docker image prune -a: %q, want the unused %s removed alone", out, layered)
	}
	if got := e.ok("images", "--format", "{{.Repository}}:{{.Tag}}"); got != e.ref {
		t.Errorf("docker images after prune -a: %q, want %q", got, e.ref)
	}

	if got := e.ok("rmi", "-f", e.ref); !strings.HasPrefix(got, "Untagged: "+e.ref+"\n") || !strings.HasSuffix(got, "Deleted: "+bbID) {
		t.Errorf("docker rmi -f of a used image: %q", got)
	}
	if got := e.ok("images", "-q"); got != "" {
		t.Errorf("images left after rmi -f: %q", got)
	}
	if got := e.ok("ps", "-a", "--format", "{{.Names}}"); got != "user" {
		t.Errorf("the container of a force-removed image: %q", got)
	}
	e.ok("rm", "user")
	e.nothingLeft()
}

// TestImageSaveLoadHistory shows two images' history, saves both to a
// file, removes them, loads the file and runs one; does the same
// through pipes; and loads malformed archives, which fail with one line
// and store nothing.
func TestImageSaveLoadHistory(t *testing.T) {
	e := newEnv(t)
	layered := e.pushLayered()
	e.ok("pull", "-q", e.ref)
	e.ok("pull", "-q", layered)
	id := e.ok("image", "inspect", "--format", "{{.Id}}", layered)

	hist := strings.Split(e.ok("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}", layered), "\n")
	if len(hist) != 3 || !strings.HasPrefix(hist[0], id+"|COPY greeting /greeting|") || hist[1] != "<missing>|ENV GREETING=hello|0B" ||
		!strings.HasPrefix(hist[2], "<missing>|ADD busybox /|") || strings.HasSuffix(hist[2], "|0B") {
		t.Errorf("docker history of a two-layer image: %q", hist)
	}
	if got := e.ok("history", "-q", e.ref); len(strings.Fields(got)) != 1 {
		t.Errorf("docker history of a one-layer image without a recorded history: %q", got)
	}
	e.fails("No such image: nope:1", "history", "nope:1")

	archive := filepath.Join(e.dir, "images.tar")
	e.ok("save", "-o", archive, e.ref, layered)
	e.ok("rmi", e.ref, layered)
	out := e.ok("load", "-i", archive)
	if !strings.Contains(out, "Loaded image: "+e.ref) || !strings.Contains(out, "Loaded image: "+layered) {
		t.Errorf("docker load -i printed %q", out)
	}
	if got := e.ok("image", "inspect", "--format", "{{.Id}}", layered); got != id {
		t.Errorf("the loaded image has ID %s, want %s", got, id)
	}
	if got := e.ok("run", "--rm", layered, "cat", "/greeting"); got != "hello from a layer" {
		t.Errorf("docker run of a loaded image: %q", got)
	}

	tarball, errs, code := e.docker("save", layered)
	if code != 0 || len(tarball) < 1024 {
		t.Fatalf("docker save to stdout: exit %d, %d bytes, %q", code, len(tarball), errs)
	}
	e.ok("rmi", layered)
	if got, errs, code := e.run(dockerCLI, strings.NewReader(tarball), "load"); code != 0 || strings.TrimSpace(got) != "Loaded image: "+layered {
		t.Errorf("docker load from stdin: exit %d, %q, %q", code, got, errs)
	}
	code, h, body := e.request("GET", "/images/"+layered+"/get", "")
	if code != 200 || h.Get("Content-Type") != "application/x-tar" || len(body) != len(tarball) {
		t.Errorf("GET /images/{name}/get: %d %q, %d bytes; want the %d of docker save", code, h.Get("Content-Type"), len(body), len(tarball))
	}
	e.fails("No such image: nope:1", "save", "-o", filepath.Join(e.dir, "none.tar"), e.ref, "nope:1")
	if _, err := os.Stat(filepath.Join(e.dir, "none.tar")); err == nil {
		t.Errorf("docker save of a missing image left its output file")
	}

	e.ok("rmi", e.ref, layered)
	if left := e.blobs(); len(left) != 0 {
		t.Fatalf("content left after rmi: %v", left)
	}
	for what, data := range map[string]string{
		"a truncated archive": tarball[:len(tarball)/2],
		"the archive's head":  tarball[:700],
		"no tar at all":       strings.Repeat("not a tar\n", 100),
	} {
		out, errs, code := e.run(dockerCLI, strings.NewReader(data), "load")
		if code == 0 || !strings.Contains(errs, "invalid image archive") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("docker load of %s: exit %d, stdout %q, stderr %q; want a one-line error", what, code, out, errs)
		}
		if left := e.blobs(); len(left) != 0 {
			t.Errorf("docker load of %s left %v", what, left)
		}
	}
	if got := e.ok("images", "-q"); got != "" {
		t.Errorf("images after failed loads: %q", got)
	}
	e.nothingLeft()
}
