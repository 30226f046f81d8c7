package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// progressView shows one bar per layer on a terminal, or one line per
// state change otherwise.
type progressView struct {
	out   io.Writer
	tty   bool
	p     *mpb.Progress
	mu    sync.Mutex
	bars  map[string]*layerBar
	lines map[string]string // last printed state per digest (non-tty)
}

type layerBar struct {
	bar   *mpb.Bar
	state string
	start time.Time // first byte downloaded
	speed string    // frozen once the download ends
}

// speedText renders the layer's download speed.
func (lb *layerBar) speedText(cur int64) string {
	if lb.speed != "" || lb.start.IsZero() {
		return lb.speed
	}
	el := time.Since(lb.start).Seconds()
	if el <= 0 {
		return ""
	}
	return humanSize(int64(float64(cur)/el)) + "/s"
}

func newProgressView(out *os.File) *progressView {
	tty := term.IsTerminal(int(out.Fd()))
	if w, _, err := term.GetSize(int(out.Fd())); err != nil || w < 40 {
		tty = false // no usable width: bars would not render
	}
	v := &progressView{out: out, tty: tty, bars: map[string]*layerBar{}, lines: map[string]string{}}
	if v.tty {
		v.p = mpb.New(mpb.WithOutput(out), mpb.WithWidth(32), mpb.WithRefreshRate(150*time.Millisecond))
	}
	return v
}

func short(dg string) string {
	dg = strings.TrimPrefix(dg, "sha256:")
	if len(dg) > 12 {
		return dg[:12]
	}
	return dg
}

func (v *progressView) update(p *apiv1.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.tty {
		if p.GetKind() != "layer" || v.lines[p.GetDigest()] == p.GetState() {
			return
		}
		v.lines[p.GetDigest()] = p.GetState()
		line := fmt.Sprintf("%s: %s", short(p.GetDigest()), p.GetState())
		if p.GetError() != "" {
			line += ": " + p.GetError()
		}
		fmt.Fprintln(v.out, line)
		return
	}
	if p.GetKind() != "layer" {
		return
	}
	lb, ok := v.bars[p.GetDigest()]
	if !ok {
		lb = &layerBar{state: p.GetState()}
		name := short(p.GetDigest())
		lb.bar = v.p.New(p.GetTotal(), mpb.BarStyle(),
			mpb.PrependDecorators(decor.Name(name+" "), decor.Any(func(decor.Statistics) string { return fmt.Sprintf("%-11s", lb.state) })),
			mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f"), decor.Name("  "), decor.Any(func(st decor.Statistics) string { return lb.speedText(st.Current) })),
		)
		v.bars[p.GetDigest()] = lb
	}
	if p.GetState() == "downloading" && lb.start.IsZero() {
		lb.start = time.Now()
	}
	if lb.state == "downloading" && p.GetState() != "downloading" {
		lb.speed = lb.speedText(p.GetOffset())
	}
	lb.state = p.GetState()
	if p.GetOffset() >= lb.bar.Current() {
		lb.bar.SetCurrent(p.GetOffset())
	}
	switch p.GetState() {
	case "done", "exists":
		lb.bar.SetTotal(p.GetTotal(), true)
	case "error":
		lb.bar.Abort(false)
	}
}

// wait finishes the bars (completing or aborting what is left).
func (v *progressView) wait(failed bool) {
	if !v.tty {
		return
	}
	v.mu.Lock()
	for _, lb := range v.bars {
		if failed {
			lb.bar.Abort(false)
		} else {
			lb.bar.SetTotal(-1, true)
		}
	}
	v.mu.Unlock()
	v.p.Wait()
}
