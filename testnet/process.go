package testnet

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a node process this Testnet started; done closes once it exited
// and was reaped.
type proc struct {
	cmd  *exec.Cmd
	pid  int
	done chan struct{}
	err  error // the exit status, once done is closed
}

// proc returns the process this Testnet started for node i, if any.
func (t *Testnet) proc(i int) *proc {
	t.procMu.Lock()
	defer t.procMu.Unlock()
	return t.procs[i]
}

func (t *Testnet) setProc(i int, p *proc) {
	t.procMu.Lock()
	defer t.procMu.Unlock()
	t.procs[i] = p
}

func (t *Testnet) dropProc(i int) {
	t.procMu.Lock()
	defer t.procMu.Unlock()
	delete(t.procs, i)
}

// homeDir returns node i's home directory.
func (t *Testnet) homeDir(i int) string { return filepath.Join(t.Dir, t.Meta.Nodes[i].Home) }

// LogPath returns node i's log file.
func (t *Testnet) LogPath(i int) string { return filepath.Join(t.homeDir(i), LogFile) }

func (t *Testnet) pidPath(i int) string { return filepath.Join(t.homeDir(i), PIDFile) }

// spawn starts node i's process in its own process group, output appended
// to its log, and records its pid. The caller holds t.nodeMu[i].
func (t *Testnet) spawn(i int) error {
	bin := t.Binary
	if bin == "" {
		return fmt.Errorf("testnet: no bftledger binary to start nodes with")
	}
	if pid, ok := t.livePID(i); ok {
		return fmt.Errorf("%w: %s (pid %d)", ErrRunning, t.Meta.Nodes[i].Name, pid)
	}
	// An absolute home in the command line lets any later launcher, run
	// from any directory, recognise the process (see processAlive).
	home, err := filepath.Abs(t.homeDir(i))
	if err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	logf, err := os.OpenFile(t.LogPath(i), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	defer logf.Close() // the child holds its own descriptor
	fmt.Fprintf(logf, "==== bftledger testnet: starting %s at %s\n", t.Meta.Nodes[i].Name, time.Now().UTC().Format(time.RFC3339))
	cmd := exec.Command(bin, "node", "start", "--home", home)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testnet: start %s with %s: %w", t.Meta.Nodes[i].Name, bin, err)
	}
	p := &proc{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.setProc(i, p)
	if err := writeFileAtomic(t.pidPath(i), []byte(strconv.Itoa(p.pid)+"\n"), 0o644); err != nil {
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		<-p.done
		t.dropProc(i)
		return err
	}
	t.log.Info("started node", "node", i, "pid", p.pid, "log", t.LogPath(i))
	return nil
}

// readPID returns the pid recorded for node i, if any.
func (t *Testnet) readPID(i int) (int, bool) {
	b, err := readFileLimited(t.pidPath(i), pidFileBytesMax)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	return pid, true
}

// livePID returns node i's pid if its process is alive (paused counts as
// alive). For processes another launcher started it checks the pid file
// and, on Linux, that the pid still runs this node's home (pids get reused).
func (t *Testnet) livePID(i int) (int, bool) {
	if p := t.proc(i); p != nil {
		select {
		case <-p.done:
			return 0, false
		default:
			// Another launcher may have stopped it: exited but not yet
			// reaped here.
			if !processAlive(p.pid, t.homeDir(i)) {
				return 0, false
			}
			return p.pid, true
		}
	}
	pid, ok := t.readPID(i)
	if !ok {
		return 0, false
	}
	if !processAlive(pid, t.homeDir(i)) {
		return 0, false
	}
	return pid, true
}

// processAlive reports whether pid is a live (not zombie) process that,
// where /proc tells, was started with home in its command line.
func processAlive(pid int, home string) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if st := procState(pid); st == 'Z' || st == 'X' {
		return false
	}
	if cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline")); err == nil {
		abs, err := filepath.Abs(home)
		if err == nil && !bytes.Contains(cmdline, []byte(abs+"\x00")) && !bytes.HasSuffix(cmdline, []byte(abs)) {
			return false
		}
	}
	return true
}

// procState returns the state letter of pid from /proc (R, S, T, Z, ...),
// or 0 where /proc is unavailable.
func procState(pid int) byte {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	// pid (comm) S ...: comm may hold spaces and parentheses; the state
	// follows the last ')'.
	j := bytes.LastIndexByte(b, ')')
	if j < 0 || j+2 >= len(b) {
		return 0
	}
	return b[j+2]
}

// signalNode sends sig to node i's process group.
func (t *Testnet) signalNode(i int, sig syscall.Signal) (int, error) {
	pid, ok := t.livePID(i)
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrNotRunning, t.Meta.Nodes[i].Name)
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		// Not a group leader (started some other way): signal the process.
		if err2 := syscall.Kill(pid, sig); err2 != nil {
			return pid, fmt.Errorf("testnet: signal %v to %s (pid %d): %w", sig, t.Meta.Nodes[i].Name, pid, err2)
		}
	}
	return pid, nil
}

// waitExit waits up to d for node i's process (pid) to exit. It reports
// whether it did.
func (t *Testnet) waitExit(i, pid int, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	if p := t.proc(i); p != nil && p.pid == pid {
		select {
		case <-p.done:
			return true
		case <-deadline.C:
			return false
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if !processAlive(pid, t.homeDir(i)) {
			return true
		}
		select {
		case <-deadline.C:
			return !processAlive(pid, t.homeDir(i))
		case <-tick.C:
		}
	}
}

// stopNode stops node i: SIGTERM (and SIGCONT, in case it is paused),
// then SIGKILL after grace. The caller holds t.nodeMu[i].
func (t *Testnet) stopNode(i int, grace time.Duration) error {
	pid, ok := t.livePID(i)
	if !ok {
		t.forget(i)
		return nil
	}
	if _, err := t.signalNode(i, syscall.SIGTERM); err != nil {
		return err
	}
	_, _ = t.signalNode(i, syscall.SIGCONT)
	if !t.waitExit(i, pid, grace) {
		t.log.Warn("node ignored SIGTERM; killing it", "node", i, "pid", pid, "grace", grace)
		if _, err := t.signalNode(i, syscall.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
			return err
		}
		if !t.waitExit(i, pid, killWait) {
			return fmt.Errorf("testnet: %s (pid %d) survived SIGKILL", t.Meta.Nodes[i].Name, pid)
		}
	}
	t.forget(i)
	t.log.Info("stopped node", "node", i, "pid", pid)
	return nil
}

// killNode sends SIGKILL to node i and waits until it is gone.
func (t *Testnet) killNode(i int) error {
	pid, err := t.signalNode(i, syscall.SIGKILL)
	if err != nil {
		return err
	}
	if !t.waitExit(i, pid, killWait) {
		return fmt.Errorf("testnet: %s (pid %d) survived SIGKILL", t.Meta.Nodes[i].Name, pid)
	}
	t.forget(i)
	t.log.Info("killed node", "node", i, "pid", pid)
	return nil
}

// forget drops node i's process record and pid file.
func (t *Testnet) forget(i int) {
	t.dropProc(i)
	_ = os.Remove(t.pidPath(i))
}

// exitString describes a process's end from its Wait error.
func exitString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// logTail returns the last lines of node i's log.
func (t *Testnet) logTail(i int) string {
	f, err := os.Open(t.LogPath(i))
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-logTailBytesMax, 0)
	buf := make([]byte, st.Size()-off)
	n, _ := f.ReadAt(buf, off)
	text := string(buf[:n])
	// A Go panic's message comes before its long stack trace: quote from
	// there rather than the end of the trace.
	for _, mark := range []string{"\npanic: ", "\nfatal error: "} {
		if k := strings.LastIndex(text, mark); k >= 0 {
			text = text[k+1:]
			lines := strings.Split(text, "\n")
			return strings.Join(lines[:min(len(lines), logTailLines)], "\n")
		}
	}
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}
