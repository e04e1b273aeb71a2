package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/audit"
)

func TestCSVSafe(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"+1+2", "'+1+2"}, {"-3", "'-3"}, {"@SUM(A1)", "'@SUM(A1)"}, {"\tx", "'\tx"}, {"\rx", "'\rx"},
		{"plain", "plain"}, {"", ""}, {"a=b", "a=b"},
	} {
		if got := csvSafe(c.in); got != c.want {
			t.Errorf("csvSafe(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAuditExportAndFilters(t *testing.T) {
	e := newEnv(t, nil)
	admin := mustLogin(t, e, "alice")
	officer := mustLogin(t, e, "bob")
	// A row whose fields would be formulas in a spreadsheet.
	if err := e.srv.audit.Record(t.Context(), audit.Entry{Username: "=cmd|' /C calc'!A0", ClientIP: "-1", Action: "search", Target: "@x", Outcome: "success", Details: "+danger"}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := officer.get("/admin/audit.csv"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("officer exported the audit trail: %d", resp.StatusCode)
	}
	resp, body := admin.get("/admin/audit.csv?action=search")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][0] != "id" {
		t.Fatalf("filtered export has %d rows: %v", len(rows), rows)
	}
	for i, want := range map[int]string{2: "'=cmd|' /C calc'!A0", 3: "'-1", 5: "'@x", 7: "'+danger"} {
		if rows[1][i] != want {
			t.Errorf("cell %d = %q, want %q", i, rows[1][i], want)
		}
	}
	// Filters by user and date; the export itself is audited.
	_, all := admin.get("/admin/audit.csv")
	allRows, _ := csv.NewReader(strings.NewReader(all)).ReadAll()
	today := allRows[len(allRows)-1][1][:10] // the test clock's day
	_, body = admin.get("/admin/audit.csv?" + url.Values{"user": {"ALICE"}, "from": {today}, "to": {today}}.Encode())
	rows, _ = csv.NewReader(strings.NewReader(body)).ReadAll()
	if len(rows) < 2 {
		t.Fatalf("alice's rows of today: %v", rows)
	}
	for _, r := range rows[1:] {
		if r[2] != "alice" {
			t.Fatalf("row of %q in alice's export", r[2])
		}
	}
	_, body = admin.get("/admin/audit.csv?from=2000-01-01&to=2000-01-02")
	if rows, _ := csv.NewReader(strings.NewReader(body)).ReadAll(); len(rows) != 1 {
		t.Fatalf("an export of the year 2000 has %d rows", len(rows))
	}
	if !strings.Contains(strings.Join(auditActions(t, e.db), ","), "export:success") {
		t.Fatal("exports are not audited")
	}
	for _, q := range []string{"from=yesterday", "from=2026-02-03&to=2026-01-01"} {
		if resp, _ := admin.get("/admin/audit.csv?" + q); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, resp.StatusCode)
		}
		if resp, body := admin.get("/admin/audit?" + q); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "YYYY-MM-DD") && !strings.Contains(body, "must not be after") {
			t.Errorf("page %s: %d", q, resp.StatusCode)
		}
	}
	// The page keeps the filter in its links.
	_, body = admin.get("/admin/audit?action=search")
	if !strings.Contains(body, `href="/admin/audit.csv?action=search"`) {
		t.Fatal("the audit page's CSV link does not carry the filter")
	}
	// The history export: an officer sees their own searches only.
	resp, body = officer.get("/searches.csv")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "search_id,") {
		t.Fatalf("history export: %d %q", resp.StatusCode, body)
	}
}

func TestAuditPairs(t *testing.T) {
	got := auditPairs(`case="2026 CR \"7\"" k=20 face=detected top=reference:3 score=0.7`)
	want := []detailPair{{"case", `2026 CR "7"`}, {"k", "20"}, {"face", "detected"}, {"top", "reference:3"}, {"score", "0.7"}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("pair %d: %v, want %v", i, got[i], want[i])
		}
	}
	if got := auditPairs("free text here"); len(got) != 1 || got[0].Value != "free text here" {
		t.Errorf("free text: %v", got)
	}
	if got := auditPairs(`bad="unterminated`); len(got) != 1 {
		t.Errorf("unterminated quote: %v", got)
	}
	if auditTone("lockout", "success") != "warn" || auditTone("search", "success") != "good" || auditTone("login", "denied") != "warn" {
		t.Error("tones")
	}
}
