// Package pgtest starts throwaway PostgreSQL servers for tests: initdb in a
// temporary folder, pg_ctl on a free port with its unix socket in that
// folder (no TCP listener), torn down at the end. One cluster is shared by a
// test binary (Main from TestMain) and every test gets a fresh database
// (URL), so the tests stay fast and independent.
//
// When the PostgreSQL binaries are absent, tests that need them skip with a
// message saying so (CI installs them: .ci/run).
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create databases
)

// Bin returns the folder holding initdb and pg_ctl, or "" when PostgreSQL
// is not installed.
func Bin() string {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p)
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1])
	}
	return ""
}

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	Dir    string // data folder, socket and log live under it
	Socket string // unix socket folder
	Port   int
	bin    string
	cred   *syscall.Credential // the postgres OS user when running as root
	n      atomic.Int64

	mu     sync.Mutex
	server *exec.Cmd
	exited chan struct{}
}

// Start runs initdb and starts a server. Running as root, the server runs
// as the "postgres" OS user (PostgreSQL refuses to run as root).
func Start() (*Cluster, error) {
	bin := Bin()
	if bin == "" {
		return nil, errors.New("PostgreSQL binaries (initdb, pg_ctl) not found: install the postgresql package")
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, Socket: filepath.Join(dir, "sock"), bin: bin}
	if err := os.Mkdir(c.Socket, 0o700); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs a postgres OS user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		for _, p := range []string{dir, c.Socket} {
			if err := os.Chown(p, uid, gid); err != nil {
				os.RemoveAll(dir)
				return nil, err
			}
		}
	}
	if out, err := c.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	c.Port, err = freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// Start (re)starts the server of an initialised cluster and waits until it
// accepts connections. The server is this process's child and gets SIGQUIT
// (immediate shutdown) if this process dies, so a crashed test binary
// leaves no server behind.
func (c *Cluster) Start() error {
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), "-D", filepath.Join(c.Dir, "data"),
		"-p", strconv.Itoa(c.Port), "-k", c.Socket, "-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
	logf, err := os.OpenFile(filepath.Join(c.Dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT, Credential: c.cred}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	c.mu.Lock()
	c.server = cmd
	c.exited = make(chan struct{})
	exited := c.exited
	c.mu.Unlock()
	go func() { cmd.Wait(); close(exited) }()
	db, err := sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(c.Dir, "log"))
			return fmt.Errorf("postgres exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within 60s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StopServer stops the server (fast shutdown: open connections are cut),
// keeping its data for Start.
func (c *Cluster) StopServer() error { return c.stop(syscall.SIGINT) }

func (c *Cluster) stop(sig syscall.Signal) error {
	c.mu.Lock()
	cmd, exited := c.server, c.exited
	c.server = nil
	c.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(sig)
	select {
	case <-exited:
		return nil
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-exited
		return errors.New("postgres did not stop within 60s: killed")
	}
}

// Close stops the server and deletes the cluster.
func (c *Cluster) Close() {
	c.stop(syscall.SIGQUIT)
	os.RemoveAll(c.Dir)
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd.CombinedOutput()
}

// URL is the connection URL of database name.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", name, c.Socket, c.Port)
}

// NewDatabase creates an empty database and returns its URL.
func (c *Cluster) NewDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.n.Add(1))
	db, err := sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name+` TEMPLATE template0`); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return c.URL(name), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
	sharedMu   sync.Mutex
)

// Main runs the tests of a package and stops the shared cluster (if a test
// started one) afterwards. Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	sharedMu.Lock()
	if shared != nil {
		shared.Close()
		shared = nil
	}
	sharedMu.Unlock()
	return code
}

// Shared returns the test binary's cluster, starting it on first use; the
// test is skipped when PostgreSQL is not installed, and fails when it is but
// does not start.
func Shared(tb testing.TB) *Cluster {
	tb.Helper()
	if Bin() == "" {
		tb.Skip("PostgreSQL not installed (initdb/pg_ctl not found): skipping the PostgreSQL backend; CI installs the postgresql package")
	}
	sharedOnce.Do(func() {
		sharedMu.Lock()
		defer sharedMu.Unlock()
		shared, sharedErr = Start()
	})
	if sharedErr != nil {
		tb.Fatalf("starting PostgreSQL: %v", sharedErr)
	}
	return shared
}

// URL returns the URL of a fresh, empty database on the shared cluster.
func URL(tb testing.TB) string {
	tb.Helper()
	c := Shared(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := c.NewDatabase(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// Available reports whether PostgreSQL tests can run here.
func Available() bool { return Bin() != "" }
