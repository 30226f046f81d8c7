package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"

	apiv1 "github.com/berth-dev/berth/api/v1"
)

// psFilter holds `ps --filter` values by key: values of one key match if
// any matches (labels only if all do), and every key must match, as in
// Docker.
type psFilter map[string][]string

var psStates = []string{"created", "restarting", "running", "removing", "paused", "exited", "dead"}

// parsePsFilter parses KEY=VALUE filters.
func parsePsFilter(args []string) (psFilter, error) {
	f := psFilter{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || v == "" {
			return nil, usageError("bad filter %q: want KEY=VALUE", a)
		}
		switch k {
		case "id", "label", "ancestor":
		case "name":
			if _, err := regexp.Compile(v); err != nil {
				return nil, usageError("bad filter %q: %v", a, err)
			}
		case "status":
			if !slices.Contains(psStates, v) {
				return nil, usageError("bad filter %q: status is one of %s", a, strings.Join(psStates, ", "))
			}
		case "exited":
			if _, err := strconv.Atoi(v); err != nil {
				return nil, usageError("bad filter %q: exited takes an exit code", a)
			}
		default:
			return nil, usageError("unknown filter %q (id, name, label, status, ancestor, exited)", k)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// listsAll says whether the filter looks at containers that do not run,
// as a status or exited filter does without -a.
func (f psFilter) listsAll() bool { return len(f["status"]) > 0 || len(f["exited"]) > 0 }

// match says whether c passes every filter key.
func (f psFilter) match(c *apiv1.ContainerInfo) bool {
	for k, vs := range f {
		one := func(v string) bool { return matchOne(k, v, c) }
		if k == "label" && !all(vs, one) || !slices.ContainsFunc(vs, one) {
			return false
		}
	}
	return true
}

func all(vs []string, fn func(string) bool) bool {
	return !slices.ContainsFunc(vs, func(v string) bool { return !fn(v) })
}

func matchOne(k, v string, c *apiv1.ContainerInfo) bool {
	switch k {
	case "id":
		return strings.HasPrefix(c.GetId(), v)
	case "name":
		ok, _ := regexp.MatchString(v, c.GetName())
		return ok
	case "label":
		lk, lv, hasValue := strings.Cut(v, "=")
		got, ok := c.GetLabels()[lk]
		return ok && (!hasValue || got == lv)
	case "status":
		return c.GetState() == v
	case "exited":
		return c.GetState() == "exited" && strconv.Itoa(int(c.GetExitCode())) == v
	case "ancestor":
		img := c.GetImage()
		repo := img
		if i := strings.LastIndexByte(img, ':'); i > strings.LastIndexByte(img, '/') {
			repo = img[:i]
		}
		id := strings.TrimPrefix(c.GetImageId(), "sha256:")
		return v == img || v == repo || strings.TrimPrefix(v, "sha256:") != "" && strings.HasPrefix(id, strings.TrimPrefix(v, "sha256:"))
	}
	return false
}

// psRow is what `ps --format` templates see, named as Docker names it.
type psRow struct {
	ID, Image, Command, CreatedAt, RunningFor, Ports, State, Status, Names, Labels, Mounts, Networks string

	labels map[string]string
}

// Label returns the value of label k.
func (r psRow) Label(k string) string { return r.labels[k] }

// psHeader names the columns of a "table" format.
var psHeader = psRow{
	ID: "CONTAINER ID", Image: "IMAGE", Command: "COMMAND", CreatedAt: "CREATED AT", RunningFor: "CREATED",
	Ports: "PORTS", State: "STATE", Status: "STATUS", Names: "NAMES", Labels: "LABELS", Mounts: "MOUNTS",
	Networks: "NETWORKS", labels: map[string]string{},
}

// psDefaultFormat is Docker's ps table.
const psDefaultFormat = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

func toPsRow(c *apiv1.ContainerInfo) psRow {
	var labels []string
	for k, v := range c.GetLabels() {
		labels = append(labels, k+"="+v)
	}
	slices.Sort(labels)
	return psRow{
		ID: c.GetId()[:min(12, len(c.GetId()))], Image: c.GetImage(), Command: quoteCommand(c.GetCommand()),
		CreatedAt:  c.GetCreated().AsTime().Local().Format("2006-01-02 15:04:05 -0700 MST"),
		RunningFor: humanDuration(c.GetCreated().AsTime()), State: c.GetState(), Status: statusColumn(c),
		Names: c.GetName(), Labels: strings.Join(labels, ","), labels: c.GetLabels(), Ports: portsColumn(c),
	}
}

// writePs prints containers in format: "json" (an object a line), a Go
// template, or "table" and a template (with a header, in columns).
func writePs(w io.Writer, format string, list []*apiv1.ContainerInfo) error {
	if format == "" || format == "table" {
		format = psDefaultFormat
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		for _, c := range list {
			if err := enc.Encode(toPsRow(c)); err != nil {
				return err
			}
		}
		return nil
	}
	body, table := strings.CutPrefix(format, "table ")
	tmpl, err := template.New("ps").Funcs(template.FuncMap{
		"json": func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err },
		"join": strings.Join, "upper": strings.ToUpper, "lower": strings.ToLower,
	}).Parse(body)
	if err != nil {
		return usageError("bad --format: %v", err)
	}
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
		out = tw
		if err := execLine(out, tmpl, psHeader); err != nil {
			return err
		}
	}
	for _, c := range list {
		if err := execLine(out, tmpl, toPsRow(c)); err != nil {
			return err
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

func execLine(w io.Writer, tmpl *template.Template, row psRow) error {
	if err := tmpl.Execute(w, row); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
