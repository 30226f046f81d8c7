package shim

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// validID reports whether id is safe as a file name part.
func validID(id string) bool {
	if id == "" || len(id) > 128 || id == "." || id == ".." {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// exec starts an extra process in t's container through the runtime's
// exec --detach. With conn set, conn is subscribed to its output before
// the output is read, so that nothing is missed.
func (s *server) exec(t *task, req *Request, conn *net.UnixConn) (p *process, a *attached, err error) {
	if !validID(req.ExecID) {
		return nil, nil, fmt.Errorf("exec %s: invalid exec id %q", t.id, req.ExecID)
	}
	if len(req.Spec) == 0 {
		return nil, nil, fmt.Errorf("exec %s/%s: no process spec", t.id, req.ExecID)
	}
	unlock, err := t.live("exec")
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	p = newProcess(req.ExecID, req.Terminal)
	s.mu.Lock()
	if _, dup := t.execs[req.ExecID]; dup {
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("exec %s/%s: exec id already in use", t.id, req.ExecID)
	}
	t.execs[req.ExecID] = p
	s.mu.Unlock()
	defer func() {
		if err != nil {
			s.mu.Lock()
			delete(t.execs, req.ExecID)
			s.mu.Unlock()
		}
	}()
	base := filepath.Join(t.stateDir, "exec-"+req.ExecID)
	defer os.Remove(base + ".json")
	defer os.Remove(base + ".pid")
	if err := os.WriteFile(base+".json", req.Spec, 0o600); err != nil {
		return nil, nil, fmt.Errorf("exec %s/%s: %w", t.id, req.ExecID, err)
	}
	child, err := p.stdio(req.Stdin)
	if err != nil {
		return nil, nil, fmt.Errorf("exec %s/%s: %w", t.id, req.ExecID, err)
	}
	args := []string{"exec", "--detach", "--pid-file", base + ".pid", "--process", base + ".json"}
	var cs *consoleSocket
	if req.Terminal {
		if cs, err = newConsoleSocket(base + ".sock"); err != nil {
			return nil, nil, err
		}
		defer cs.close()
		args = append(args, "--console-socket", cs.path)
	}
	_, err = s.runtime(t.config()).run(child, append(args, t.id)...)
	closeAll(child[:])
	if err == nil && cs != nil {
		var master *os.File
		if master, err = cs.receive(); err == nil {
			p.setTerminal(master)
		}
	}
	if err == nil {
		p.pid, err = readPid(base + ".pid")
	}
	if err != nil {
		p.closeIO()
		return nil, nil, err
	}
	p.status = StatusRunning
	if conn != nil {
		a = p.subscribe(conn)
	}
	p.copyOutput(nil, &s.ev)
	go func() { p.finish(<-s.reaper.watch(p.pid), "") }()
	return p, a, nil
}
