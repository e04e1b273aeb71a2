package deploytest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	backupScriptPath = "deploy/backup/sketchmatch-backup"
	cliWrapperPath   = "deploy/bin/sketchmatch"
)

// TestShellScripts checks the shipped shell scripts parse (sh -n, the same
// /bin/sh as on the server) and, where shellcheck is installed, lints them.
func TestShellScripts(t *testing.T) {
	sh := lookTool(t, "sh", "/bin/sh")
	for _, rel := range []string{backupScriptPath, cliWrapperPath} {
		t.Run(filepath.Base(filepath.Dir(rel))+"/"+filepath.Base(rel), func(t *testing.T) {
			p := filepath.Join(repoRoot(t), rel)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode()&0o111 == 0 {
				t.Errorf("%s is not executable (git update-index --chmod=+x)", rel)
			}
			if out, err := exec.Command(sh, "-n", p).CombinedOutput(); err != nil {
				t.Fatalf("sh -n %s: %v\n%s", rel, err, out)
			}
			if sc, err := exec.LookPath("shellcheck"); err == nil {
				if out, err := exec.Command(sc, "-s", "sh", p).CombinedOutput(); err != nil {
					t.Errorf("shellcheck %s:\n%s", rel, out)
				}
			}
		})
	}
}

// TestSystemdUnits runs `systemd-analyze verify` on the backup service and
// timer (ExecStart pointed at the shipped script); any complaint fails.
func TestSystemdUnits(t *testing.T) {
	sa := lookTool(t, "systemd-analyze", "/usr/bin/systemd-analyze")
	dir := t.TempDir()
	var units []string
	for _, name := range []string{"sketchmatch-backup.service", "sketchmatch-backup.timer"} {
		text := readRepoFile(t, "deploy/systemd/"+name)
		if strings.HasSuffix(name, ".service") {
			if !strings.Contains(text, "ExecStart=/usr/local/sbin/sketchmatch-backup\n") {
				t.Fatalf("%s: want ExecStart=/usr/local/sbin/sketchmatch-backup (DEPLOYMENT.md installs it there)", name)
			}
			if !strings.Contains(text, "User=sketchmatch\n") {
				t.Errorf("%s: the backup must run as the service user (User=sketchmatch)", name)
			}
			text = strings.ReplaceAll(text, "/usr/local/sbin/sketchmatch-backup", filepath.Join(repoRoot(t), backupScriptPath))
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, p)
	}
	cmd := exec.Command(sa, append([]string{"verify"}, units...)...)
	out, err := cmd.CombinedOutput()
	// Complaints about the host's own units (when systemd is not PID 1 in a
	// container) are not ours; only lines naming our files count.
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, dir) {
			ours = append(ours, line)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestBackupScript runs the shipped backup script against the real
// `sketchmatch backup` on a fake install, twice, and checks the snapshots:
// a database that the app can open (the restore path), the photos with
// deletions followed and unchanged photos hard-linked, and retention.
func TestBackupScript(t *testing.T) {
	lookTool(t, "rsync", "/usr/bin/rsync")
	sh := lookTool(t, "sh", "/bin/sh")
	dir := t.TempDir()
	app := filepath.Join(dir, "install")
	backups := filepath.Join(dir, "backups")
	for _, d := range []string{"bin", "data", "logs", "reference_database/aa", "reference_database/bb", "models"} {
		if err := os.MkdirAll(filepath.Join(app, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(app, "bin", "sketchmatch")
	buildSketchmatch(t, bin)
	// Development mode (no SECRET_KEY needed); relative paths resolve
	// against the install folder, where the script runs the command.
	if err := os.WriteFile(filepath.Join(app, ".env"), []byte("APP_ENV=development\nLOG_LEVEL=warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(minimalEnv(dir), "APP_DIR="+app, "BACKUP_DIR="+backups, "KEEP_DAYS=3")
	runApp := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env, cmd.Stdin = app, minimalEnv(dir), strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sketchmatch %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	runApp("a-long-enough-test-passphrase-42\n", "user", "add", "--username", "backupadmin", "--role", "admin", "--password-stdin")

	writeRef := func(rel, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(app, "reference_database", rel), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeRef("aa/aa01.jpg", "kept")
	writeRef("bb/bb01.jpg", "deleted later")

	// An old snapshot, past KEEP_DAYS: the run must remove it.
	old := filepath.Join(backups, "20000101T000000Z")
	if err := os.MkdirAll(old, 0o700); err != nil {
		t.Fatal(err)
	}
	ago := time.Now().Add(-10 * 24 * time.Hour)
	if err := os.Chtimes(old, ago, ago); err != nil {
		t.Fatal(err)
	}

	script := filepath.Join(repoRoot(t), backupScriptPath)
	runBackup := func() string {
		t.Helper()
		cmd := exec.Command(sh, script)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", backupScriptPath, err, out.String())
		}
		s := out.String()
		i := strings.Index(s, "wrote ")
		if i < 0 {
			t.Fatalf("%s did not say what it wrote:\n%s", backupScriptPath, s)
		}
		return strings.TrimSpace(strings.SplitN(s[i+len("wrote "):], "\n", 2)[0])
	}

	snap1 := runBackup()
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("snapshot older than KEEP_DAYS still there: %v", err)
	}
	for _, rel := range []string{"sketchmatch.db", "SHA256SUMS", "reference_database/aa/aa01.jpg", "reference_database/bb/bb01.jpg"} {
		if !fileExists(filepath.Join(snap1, rel)) {
			t.Errorf("first snapshot lacks %s", rel)
		}
	}
	sum := exec.Command("sha256sum", "-c", "SHA256SUMS")
	sum.Dir = snap1
	if out, err := sum.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c in the snapshot: %v\n%s", err, out)
	}

	// Restore path: the app opens the copied database and finds the user.
	restored := filepath.Join(dir, "restored.db")
	b, err := os.ReadFile(filepath.Join(snap1, "sketchmatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored, b, 0o600); err != nil {
		t.Fatal(err)
	}
	list := exec.Command(bin, "user", "list")
	list.Dir, list.Env = app, append(minimalEnv(dir), "DATABASE_PATH="+restored)
	if out, err := list.CombinedOutput(); err != nil || !strings.Contains(string(out), "backupadmin") {
		t.Errorf("sketchmatch user list on the backup copy: %v\n%s", err, out)
	}

	// Second run: one photo deleted, one added, one unchanged.
	if err := os.Remove(filepath.Join(app, "reference_database", "bb", "bb01.jpg")); err != nil {
		t.Fatal(err)
	}
	writeRef("bb/bb02.jpg", "added")
	time.Sleep(1100 * time.Millisecond) // snapshot names have one-second resolution
	snap2 := runBackup()
	if snap2 == snap1 {
		t.Fatalf("second run reused %s", snap1)
	}
	if fileExists(filepath.Join(snap2, "reference_database", "bb", "bb01.jpg")) {
		t.Error("a deleted photo is still in the new snapshot")
	}
	if !fileExists(filepath.Join(snap2, "reference_database", "bb", "bb02.jpg")) {
		t.Error("a new photo is missing from the new snapshot")
	}
	if !fileExists(filepath.Join(snap1, "reference_database", "bb", "bb01.jpg")) {
		t.Error("the older snapshot lost a photo")
	}
	i1, i2 := inode(t, filepath.Join(snap1, "reference_database", "aa", "aa01.jpg")), inode(t, filepath.Join(snap2, "reference_database", "aa", "aa01.jpg"))
	if i1 != i2 {
		t.Error("an unchanged photo was copied, not hard-linked to the previous snapshot")
	}
	if fi, err := os.Stat(snap2); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("snapshot folder readable by others: %v %v", fi.Mode(), err)
	}
	if m, _ := filepath.Glob(filepath.Join(backups, "*.partial")); len(m) != 0 {
		t.Errorf("leftover partial snapshots: %v", m)
	}
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}
