package deploytest

import (
	"regexp"
	"strconv"
	"testing"
)

// The supervisor program group and the nginx upstream for several
// instances must agree: numprocs instances on ports 8000+process_num are
// exactly the upstream's servers, each with passive failover.
func TestInstancesConfigsAgree(t *testing.T) {
	sup := readRepoFile(t, "deploy/supervisor/sketchmatch-instances.conf")
	m := regexp.MustCompile(`(?m)^numprocs=(\d+)$`).FindStringSubmatch(sup)
	if m == nil {
		t.Fatal("no numprocs= in sketchmatch-instances.conf")
	}
	n, _ := strconv.Atoi(m[1])
	if !regexp.MustCompile(`(?m)^numprocs_start=0$`).MatchString(sup) || !regexp.MustCompile(`(?m)^environment=.*PORT="80%\(process_num\)02d"`).MatchString(sup) {
		t.Fatal(`want numprocs_start=0 and PORT="80%(process_num)02d": ports 8000, 8001, …`)
	}
	if !regexp.MustCompile(`(?m)^environment=.*LOG_DIR="[^"]*%\(process_num\)d"`).MatchString(sup) {
		t.Error("each instance needs a LOG_DIR of its own (the app rotates its log file)")
	}
	ds, err := parseNginx(readRepoFile(t, upstreamInstancesPath))
	if err != nil {
		t.Fatal(err)
	}
	ups := find(ds, "upstream")
	if len(ups) != 1 || len(ups[0].Args) != 1 || ups[0].Args[0] != "sketchmatch_app" {
		t.Fatalf("want one upstream sketchmatch_app, got %v", ups)
	}
	var ports []string
	for _, d := range ups[0].Block {
		if d.Name != "server" {
			continue
		}
		ports = append(ports, d.Args[0])
		hasFails := false
		for _, a := range d.Args[1:] {
			if regexp.MustCompile(`^max_fails=\d+$`).MatchString(a) {
				hasFails = true
			}
		}
		if !hasFails {
			t.Errorf("server %s: no max_fails= (passive health check)", d.Args[0])
		}
	}
	if len(ports) != n {
		t.Fatalf("upstream lists %d servers, supervisor runs %d instances", len(ports), n)
	}
	for i, p := range ports {
		if want := "127.0.0.1:" + strconv.Itoa(8000+i); p != want {
			t.Errorf("upstream server %d is %s, want %s", i, p, want)
		}
	}
}
