package dockerapi

import (
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/shim/logs"
)

// containerLogs streams a container's log: framed without a TTY, raw
// with one; follow goes on until it exits.
func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	stdout, stderr := boolParam(q.Get("stdout")), boolParam(q.Get("stderr"))
	if !stdout && !stderr {
		writeError(w, invalid("Bad parameters: you must choose at least one stream"))
		return
	}
	o, err := logOptions(q.Get("since"), q.Get("until"), q.Get("tail"))
	if err != nil {
		writeError(w, err)
		return
	}
	o.Follow, o.Timestamps = boolParam(q.Get("follow")), boolParam(q.Get("timestamps"))
	c, err := s.e.Container(r.Context(), Namespace, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	cfg, err := engine.ContainerConfig(c)
	if err != nil {
		writeError(w, err)
		return
	}
	fw := &flushWriter{w: w}
	outw, errw := io.Writer(fw), io.Writer(fw)
	ctype := "application/vnd.docker.raw-stream"
	if !cfg.Tty {
		outw, errw = newMux(fw)
		if compareVersions(versionOf(r), "1.42") >= 0 {
			ctype = "application/vnd.docker.multiplexed-stream"
		}
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(http.StatusOK)
	fw.flush()
	err = s.e.LogEntries(r.Context(), Namespace, c.ID, o, func(t time.Time, stream string, line []byte) error {
		dst := outw
		if stream == logs.Stderr {
			if !stderr {
				return nil
			}
			dst = errw
		} else if !stdout {
			return nil
		}
		buf := make([]byte, 0, len(line)+40)
		if o.Timestamps {
			buf = append(buf, t.UTC().Format(time.RFC3339Nano)...)
			buf = append(buf, ' ')
		}
		buf = append(append(buf, line...), '\n')
		_, err := dst.Write(buf)
		return err
	})
	if err != nil && r.Context().Err() == nil {
		s.log.Debug("logs", "id", c.ID, "err", err)
	}
}

// logOptions reads since and until (Unix seconds with an optional
// fraction) and tail ("all" or a count).
func logOptions(since, until, tail string) (container.LogOptions, error) {
	o := container.LogOptions{Tail: -1}
	var err error
	if o.Since, err = unixTime("since", since); err != nil {
		return o, err
	}
	if o.Until, err = unixTime("until", until); err != nil {
		return o, err
	}
	if tail != "" && tail != "all" {
		n, err := strconv.Atoi(tail)
		if err != nil || n < 0 {
			return o, invalid("invalid value for tail: %q", tail)
		}
		o.Tail = n
	}
	return o, nil
}

func unixTime(name, v string) (time.Time, error) {
	if v == "" || v == "0" {
		return time.Time{}, nil
	}
	sec, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s < 0 || s > math.MaxInt32*4 {
		return time.Time{}, invalid("invalid value for %s: %q", name, v)
	}
	var ns int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, invalid("invalid value for %s: %q", name, v)
		}
	}
	return time.Unix(s, ns), nil
}

// flushWriter flushes each write: a followed log reaches the client
// line by line.
type flushWriter struct{ w http.ResponseWriter }

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.flush()
	return n, err
}

func (f *flushWriter) flush() {
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
}
