package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	osuser "os/user"
	"strings"
	"text/tabwriter"

	"github.com/sketchmatch/sketchmatch/internal/auth"
)

// localActor attributes CLI actions in the audit trail: "cli:" and the
// operating-system user who ran the command ($USER, else the account of the
// process), at "local". Every command that changes data uses it.
func localActor() auth.Actor {
	name := os.Getenv("USER")
	if name == "" {
		if u, err := osuser.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		return auth.Actor{Username: "cli", ClientIP: "local"}
	}
	return auth.Actor{Username: "cli:" + name, ClientIP: "local"}
}

func cmdUser(e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "usage: sketchmatch user add|passwd|disable|enable|list|bootstrap ...")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(e, "user "+sub, "user "+sub+" --username U [--role admin|officer] [--password-stdin]")
	username := fs.String("username", "", "the account name")
	role := fs.String("role", "", "admin or officer (user add)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input instead of a prompt")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx := context.Background()
	a, code := e.open(ctx, false, false)
	if a == nil {
		return code
	}
	defer a.Close()
	svc := a.Auth

	needUser := func() (*auth.User, bool) {
		if *username == "" {
			fmt.Fprintln(e.stderr, "sketchmatch: --username is required")
			return nil, false
		}
		u, err := svc.GetUserByUsername(ctx, *username)
		if err != nil {
			e.fail(err)
			return nil, false
		}
		return u, true
	}

	switch sub {
	case "add":
		if *username == "" || *role == "" {
			fmt.Fprintln(e.stderr, "usage: sketchmatch user add --username U --role admin|officer [--password-stdin]")
			return 2
		}
		pw, err := e.readPassword(*fromStdin)
		if err != nil {
			return e.fail(err)
		}
		u, err := svc.CreateUser(ctx, localActor(), *username, pw, *role)
		if err != nil {
			return e.fail(err)
		}
		fmt.Fprintf(e.stdout, "created %s (%s), id %d\n", u.Username, u.Role, u.ID)
	case "passwd":
		u, ok := needUser()
		if !ok {
			return 1
		}
		pw, err := e.readPassword(*fromStdin)
		if err != nil {
			return e.fail(err)
		}
		if err := svc.SetPassword(ctx, localActor(), u.ID, pw); err != nil {
			return e.fail(err)
		}
		fmt.Fprintf(e.stdout, "password changed for %s; their sessions have ended\n", u.Username)
	case "disable", "enable":
		u, ok := needUser()
		if !ok {
			return 1
		}
		if err := svc.SetDisabled(ctx, localActor(), u.ID, sub == "disable"); err != nil {
			return e.fail(err)
		}
		fmt.Fprintf(e.stdout, "%s %sd\n", u.Username, sub)
	case "list":
		users, err := svc.ListUsers(ctx)
		if err != nil {
			return e.fail(err)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tROLE\tSTATUS\tCREATED")
		for _, u := range users {
			status := "active"
			if u.Disabled {
				status = "disabled"
			} else if u.Locked(a.DB.Now()) {
				status = "locked"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Role, status, u.CreatedAt.UTC().Format("2006-01-02 15:04"))
		}
		tw.Flush()
	case "bootstrap":
		// Used by `make run`: on a database without users, create an
		// admin with a random password and print it once.
		n, err := svc.CountUsers(ctx)
		if err != nil {
			return e.fail(err)
		}
		if n > 0 {
			return 0
		}
		name := *username
		if name == "" {
			name = "admin"
		}
		pw := auth.GeneratePassword()
		u, err := svc.CreateUser(ctx, localActor(), name, pw, auth.RoleAdmin)
		if err != nil {
			return e.fail(err)
		}
		fmt.Fprintf(e.stdout, "\n  First administrator created.\n    username: %s\n    password: %s\n  This password is shown once. Sign in and create officers under Users.\n\n", u.Username, pw)
	default:
		fmt.Fprintf(e.stderr, "sketchmatch: unknown user command %q (add, passwd, disable, enable, list, bootstrap)\n", sub)
		return 2
	}
	return 0
}

// readPassword reads one line from stdin (--password-stdin) or prompts
// twice on a terminal without echo.
func (e *env) readPassword(fromStdin bool) (string, error) {
	if fromStdin || !isTerminal(e.stdin) {
		line, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fmt.Fprint(e.stderr, "Password (at least 12 characters): ")
	p1, err := readHidden(e.stdin)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(e.stderr, "Repeat password: ")
	p2, err := readHidden(e.stdin)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	if p1 != p2 {
		return "", fmt.Errorf("the two passwords do not match")
	}
	return p1, nil
}
