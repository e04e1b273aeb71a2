package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/auth"
)

// cmdToken manages service tokens of the integration API.
func cmdToken(e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "usage: sketchmatch token create --name NAME --scope SCOPE[,SCOPE] [--expires 90d] | token list | token revoke NAME")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(e, "token "+sub, "token create --name NAME --scope SCOPE[,SCOPE] [--expires 90d] | token list | token revoke NAME")
	name := fs.String("name", "", "the token's name (the system that uses it)")
	scopes := fs.String("scope", "", "comma-separated: "+strings.Join(auth.Scopes, ", "))
	expires := fs.String("expires", "90d", "lifetime in days (e.g. 90d), or 0 for none")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx := context.Background()
	a, code := e.open(ctx, false, false)
	if a == nil {
		return code
	}
	defer a.Close()
	who := localActor()
	switch sub {
	case "create":
		if *name == "" || *scopes == "" {
			fmt.Fprintln(e.stderr, "usage: sketchmatch token create --name NAME --scope SCOPE[,SCOPE] [--expires 90d]")
			return 2
		}
		sc, err := auth.ParseScopes(*scopes)
		if err != nil {
			return e.fail(err)
		}
		ttl, err := parseDays(*expires)
		if err != nil {
			fmt.Fprintf(e.stderr, "sketchmatch: --expires %q: %v\n", *expires, err)
			return 2
		}
		secret, t, err := a.Auth.CreateToken(ctx, who, *name, sc, ttl)
		if err != nil {
			return e.fail(err)
		}
		exp := "never"
		if t.ExpiresAt != 0 {
			exp = time.Unix(t.ExpiresAt, 0).UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(e.stderr, "token %s created (scopes %s, expires %s). It is shown once; store it in the other system's secret store:\n", t.Name, strings.Join(t.Scopes, ","), exp)
		fmt.Fprintln(e.stdout, secret)
		return 0
	case "list":
		ts, err := a.Auth.ListTokens(ctx)
		if err != nil {
			return e.fail(err)
		}
		now := time.Now().Unix()
		for _, t := range ts {
			state := "live"
			switch {
			case t.RevokedAt != 0:
				state = "revoked"
			case t.ExpiresAt != 0 && now >= t.ExpiresAt:
				state = "expired"
			}
			last := "never used"
			if t.LastUsedAt != 0 {
				last = "last used " + time.Unix(t.LastUsedAt, 0).UTC().Format(time.RFC3339) + " from " + t.LastUsedIP
			}
			fmt.Fprintf(e.stdout, "%-24s %-8s %-45s %s\n", t.Name, state, strings.Join(t.Scopes, ","), last)
		}
		return 0
	case "revoke":
		n := *name
		if n == "" && fs.NArg() == 1 {
			n = fs.Arg(0)
		}
		if n == "" {
			fmt.Fprintln(e.stderr, "usage: sketchmatch token revoke NAME")
			return 2
		}
		if err := a.Auth.RevokeToken(ctx, who, n); err != nil {
			return e.fail(err)
		}
		fmt.Fprintf(e.stdout, "token %s revoked\n", n)
		return 0
	}
	fmt.Fprintf(e.stderr, "sketchmatch: unknown token command %q\n", sub)
	return 2
}

// parseDays reads "90d", "90" or "0" (no expiry).
func parseDays(v string) (time.Duration, error) {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), "d"))
	if err != nil || n < 0 || n > 5*365 {
		return 0, fmt.Errorf("want a number of days from 1 to 1825 (e.g. 90d), or 0 for none")
	}
	return time.Duration(n) * 24 * time.Hour, nil
}
