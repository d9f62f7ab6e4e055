package mongotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// errNoPostgres is returned when no PostgreSQL server binaries are found.
var errNoPostgres = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin")

// startTimeout bounds each step of starting a cluster (initdb, the server
// becoming ready, createdb) and stopping it.
const startTimeout = 60 * time.Second

// cluster is a throwaway PostgreSQL cluster in a temporary directory,
// listening on a free 127.0.0.1 port, with one database for FerretDB.
//
// A watchdog process holds the read end of a pipe from this process: when
// the pipe closes (stop, or this process dying in any way, even by SIGKILL
// or a panicking test) it stops the server and removes the directory, so no
// postgres outlives the test binary.
type cluster struct {
	dir   string         // temporary directory: data/, the socket, postgres.log
	url   string         // pgx connection string of the database
	watch *exec.Cmd      // the watchdog
	pipe  io.WriteCloser // its stdin
	done  chan error     // the watchdog's exit
}

// pgBinDir returns the directory of the PostgreSQL server binaries: that of
// pg_ctl on PATH, else the newest /usr/lib/postgresql/N/bin.
func pgBinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres", "createdb"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(r)) {
			return filepath.Dir(r), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) int {
		n, _ := strconv.Atoi(strings.Split(filepath.Base(filepath.Dir(d)), ".")[0])
		return n
	}
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", errNoPostgres
}

// asServerUser returns the command prefix that runs PostgreSQL's server
// programs, which refuse to run as root: runuser -u postgres when this
// process is root, nothing otherwise. chown, if not nil, hands a path to
// that user.
func asServerUser() (prefix []string, chown func(string) error, err error) {
	if os.Geteuid() != 0 {
		return nil, nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, nil, fmt.Errorf("running as root needs a postgres user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	runuser, err := exec.LookPath("runuser")
	if err != nil {
		return nil, nil, fmt.Errorf("running as root needs runuser to run PostgreSQL as postgres: %w", err)
	}
	return []string{runuser, "-u", "postgres", "--"}, func(p string) error { return os.Chown(p, uid, gid) }, nil
}

// startCluster initialises and starts a cluster and creates its database.
// It returns errNoPostgres if the binaries are missing.
func startCluster(ctx context.Context) (_ *cluster, err error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	prefix, chown, err := asServerUser()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "contigo-pg-")
	if err != nil {
		return nil, fmt.Errorf("postgresql: %w", err)
	}
	if chown != nil {
		if err := chown(dir); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("postgresql: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	c, err := startWatchdog(dir, slices.Concat(prefix, []string{filepath.Join(bin, "pg_ctl"), "stop", "-D", data, "-m", "fast", "-w", "-t", "60"}))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.stop())
		}
	}()

	server := func(args ...string) []string { return append(slices.Clone(prefix), args...) }
	if _, err := runBounded(ctx, dir, server(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")...); err != nil {
		return nil, fmt.Errorf("postgresql: initdb: %w", err)
	}
	conf := fmt.Sprintf("\n# mongotest\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"+
		"fsync = on\nsynchronous_commit = on\nfull_page_writes = on\n", dir)
	if sb := os.Getenv("CONTIGO_TEST_PG_SHARED_BUFFERS"); sb != "" {
		// PostgreSQL's default (128MB) holds a few thousand persons'
		// tables; a country's server is given far more. The 100,000-person
		// benchmarks set it (README).
		conf += fmt.Sprintf("shared_buffers = '%s'\n", strings.ReplaceAll(sb, "'", ""))
	}
	if err := appendFile(filepath.Join(data, "postgresql.conf"), conf); err != nil {
		return nil, fmt.Errorf("postgresql: %w", err)
	}

	// A free port may be taken between choosing and binding it: try a few.
	var port int
	for try := 0; ; try++ {
		if port, err = freePort(); err != nil {
			return nil, fmt.Errorf("postgresql: %w", err)
		}
		_, err = runBounded(ctx, dir, server(filepath.Join(bin, "pg_ctl"), "start", "-D", data, "-w", "-t", "45",
			"-l", filepath.Join(dir, "postgres.log"), "-o", "-p "+strconv.Itoa(port))...)
		if err == nil {
			break
		}
		log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		if try == 2 || !bytes.Contains(log, []byte("could not bind")) {
			return nil, fmt.Errorf("postgresql: pg_ctl start: %w\n%s", err, tail(log, 2000))
		}
	}
	if _, err := runBounded(ctx, dir, filepath.Join(bin, "createdb"), "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-U", "postgres", "contigo"); err != nil {
		return nil, fmt.Errorf("postgresql: createdb: %w", err)
	}
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/contigo", port)
	return c, nil
}

// watchdogScript waits for its stdin to close, then runs its arguments after
// the first (pg_ctl stop) if the server is running, and removes the
// directory named by the first. It ignores the signals a terminal or a
// process group would send, so it outlives the test binary.
const watchdogScript = `trap '' HUP INT TERM QUIT
dir=$1; shift
read -r _ || true
if [ -f "$dir/data/postmaster.pid" ]; then "$@" >/dev/null || echo "mongotest: pg_ctl stop failed" >&2; fi
rm -rf "$dir"
`

func startWatchdog(dir string, stop []string) (*cluster, error) {
	cmd := exec.Command("/bin/sh", append([]string{"-c", watchdogScript, "mongotest-watchdog", dir}, stop...)...)
	cmd.Dir = os.TempDir()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr // file descriptors: no copying goroutine to outlive
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pipe, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("postgresql: watchdog: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("postgresql: watchdog: %w", err)
	}
	c := &cluster{dir: dir, watch: cmd, pipe: pipe, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	return c, nil
}

// stop stops the server (pg_ctl stop -m fast) and removes the directory,
// waiting at most startTimeout.
func (c *cluster) stop() error {
	c.pipe.Close()
	select {
	case err := <-c.done:
		if err != nil {
			return fmt.Errorf("postgresql: stop: %w", err)
		}
		return nil
	case <-time.After(startTimeout + 10*time.Second):
		return fmt.Errorf("postgresql: stop: server in %s not stopped after %s", c.dir, startTimeout+10*time.Second)
	}
}

// runBounded runs args in dir, killing it after startTimeout, and returns
// its output; the error quotes the output.
func runBounded(ctx context.Context, dir string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w\n%s", filepath.Base(args[0]), err, tail(out, 2000))
	}
	return out, nil
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	return errors.Join(err, f.Close())
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns at most the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
