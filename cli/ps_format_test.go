package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func psFixture() []*apiv1.ContainerInfo {
	created := timestamppb.New(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	return []*apiv1.ContainerInfo{
		{Id: strings.Repeat("a", 64), Name: "web", Image: "docker.io/library/busybox:1.36", ImageId: "sha256:" + strings.Repeat("1", 64),
			State: "running", Labels: map[string]string{"app": "x", "tier": "front"}, Command: []string{"sh", "-c", "top"},
			Created: created, StartedAt: timestamppb.Now()},
		{Id: strings.Repeat("b", 64), Name: "job", Image: "alpine:3", ImageId: "sha256:" + strings.Repeat("2", 64),
			State: "exited", ExitCode: 3, Labels: map[string]string{"app": "y"}, Created: created},
		{Id: "ab" + strings.Repeat("c", 62), Name: "new", Image: "alpine:3", ImageId: "sha256:" + strings.Repeat("2", 64),
			State: "created", Created: created},
	}
}

func TestPsFilter(t *testing.T) {
	cases := []struct {
		filters []string
		want    string
	}{
		{nil, "web job new"},
		{[]string{"id=ab"}, "new"},
		{[]string{"id=a"}, "web new"},
		{[]string{"name=^j"}, "job"},
		{[]string{"name=e"}, "web new"},
		{[]string{"label=app"}, "web job"},
		{[]string{"label=app=y"}, "job"},
		{[]string{"label=app", "label=tier=front"}, "web"},
		{[]string{"status=exited", "status=created"}, "job new"},
		{[]string{"ancestor=busybox:1.36"}, ""},
		{[]string{"ancestor=docker.io/library/busybox"}, "web"},
		{[]string{"ancestor=alpine:3"}, "job new"},
		{[]string{"ancestor=222"}, "job new"},
		{[]string{"exited=3"}, "job"},
		{[]string{"exited=0"}, ""},
		{[]string{"status=created", "name=job"}, ""},
	}
	for _, c := range cases {
		f, err := parsePsFilter(c.filters)
		if err != nil {
			t.Fatalf("%v: %v", c.filters, err)
		}
		var got []string
		for _, ct := range psFixture() {
			if f.match(ct) {
				got = append(got, ct.GetName())
			}
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%v: %q, want %q", c.filters, strings.Join(got, " "), c.want)
		}
	}
}

func TestPsFilterRefusesBadInput(t *testing.T) {
	for _, bad := range []string{"nokey", "id=", "colour=red", "status=sleeping", "exited=x", "name=("} {
		if _, err := parsePsFilter([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if f, _ := parsePsFilter([]string{"status=exited"}); !f.listsAll() {
		t.Error("a status filter does not list stopped containers")
	}
}

func TestPsFormatTemplate(t *testing.T) {
	var b bytes.Buffer
	if err := writePs(&b, `{{.ID}} {{.Names}} {{.Image}} {{.Command}} {{.Labels}} {{.Label "tier"}} {{.Status}}`, psFixture()[:2]); err != nil {
		t.Fatal(err)
	}
	want := "aaaaaaaaaaaa web docker.io/library/busybox:1.36 \"sh -c top\" app=x,tier=front front Up Less than a second\n" +
		"bbbbbbbbbbbb job alpine:3 \"\" app=y  Exited (3)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestPsFormatTable(t *testing.T) {
	var b bytes.Buffer
	if err := writePs(&b, "table {{.ID}}\t{{.Names}}\t{{.CreatedAt}}", psFixture()[1:2]); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Local().Format("2006-01-02 15:04:05 -0700 MST")
	want := "CONTAINER ID   NAMES   CREATED AT\nbbbbbbbbbbbb   job     " + created + "\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	if err := writePs(&b, "", nil); err != nil || b.String() != "CONTAINER ID   IMAGE   COMMAND   CREATED   STATUS   PORTS   NAMES\n" {
		t.Errorf("default table: %q, %v", b.String(), err)
	}
	if err := writePs(&b, "{{.Nope", nil); err == nil {
		t.Error("a bad template is accepted")
	}
}

func TestPsFormatJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writePs(&b, "json", psFixture()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want one a container:\n%s", len(lines), b.String())
	}
	var row map[string]string
	if err := json.Unmarshal([]byte(lines[1]), &row); err != nil {
		t.Fatal(err)
	}
	if row["ID"] != "bbbbbbbbbbbb" || row["Names"] != "job" || row["State"] != "exited" || row["Labels"] != "app=y" {
		t.Errorf("json row: %v", row)
	}
}
