package dockerapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/events"
	dcontainer "github.com/moby/moby/api/types/container"
)

// waitContainer answers once the condition holds: not-running (the
// default), next-exit or removed. The headers go at once, as Docker's:
// the CLI waits for them before it starts the container.
func (s *Server) waitContainer(w http.ResponseWriter, r *http.Request) {
	cond := r.URL.Query().Get("condition")
	switch cond {
	case "", "not-running", "next-exit", "removed":
	default:
		writeError(w, invalid("invalid condition: %q", cond))
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// Subscribed before the record is read: no exit falls in between.
	evs := s.e.Events().Subscribe(ctx, events.Filter{Namespace: Namespace, Topics: []string{string(events.TopicTasks), string(events.TopicContainers)}})
	c, err := s.e.Container(ctx, Namespace, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	code, err := s.waitFor(ctx, c, cond, evs)
	resp := dcontainer.WaitResponse{StatusCode: int64(code)}
	if err != nil {
		resp.Error = &dcontainer.WaitExitError{Message: err.Error()}
	}
	_ = jsonEncode(w, resp)
}

// waitFor follows c's events until cond holds and returns its exit code.
// A poll of the record backs the events up (a slow subscriber may skip
// some).
func (s *Server) waitFor(ctx context.Context, c engine.Container, cond string, evs <-chan events.Event) (int, error) {
	running := c.Status.State == engine.StateRunning || c.Status.State == engine.StatePaused
	if cond != "next-exit" && cond != "removed" && !running {
		return c.Status.ExitCode, nil
	}
	code := c.Status.ExitCode
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return code, ctx.Err()
		case ev, ok := <-evs:
			if !ok {
				return code, errors.New("berthd is stopping")
			}
			if ev.Attributes["id"] != c.ID {
				continue
			}
			switch {
			case ev.Topic == "/tasks/exit":
				code, _ = strconv.Atoi(ev.Attributes["exitCode"])
				if cond != "removed" {
					return code, nil
				}
			case ev.Topic == "/containers/delete" && cond == "removed":
				return code, nil
			case strings.HasPrefix(ev.Topic, "/tasks/start"):
				running = true
			}
		case <-tick.C:
			got, err := s.e.Container(ctx, Namespace, c.ID)
			switch {
			case errors.Is(err, errdefs.ErrNotFound) && cond == "removed":
				return code, nil
			case err != nil:
				return code, err
			}
			nowRunning := got.Status.State == engine.StateRunning || got.Status.State == engine.StatePaused
			if cond != "removed" && running && !nowRunning {
				return got.Status.ExitCode, nil
			}
			running, code = nowRunning, got.Status.ExitCode
		}
	}
}
