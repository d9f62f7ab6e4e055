// Command contigo runs the Contigo records service and its tools.
//
// Usage:
//
//	contigo serve [flags]        run the service
//	contigo token [flags]        print a signed bearer token for this node
//	contigo zscore [FILE]        WHO z-scores for a CSV of measurements
//	contigo prevalence FILE      WHO survey prevalence tables (anthro_prevalence)
//	contigo quality FILE         survey data-quality report
//	contigo backup --out DIR     online backup of the embedded engine
//	contigo restore --from DIR   restore such a backup into an empty data dir
//	contigo healthcheck          probe /readyz (the container's HEALTHCHECK)
//	contigo version              print the stamped version
//
// Run "contigo COMMAND --help" for the flags of each command.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// A command is one subcommand of the binary. Each lives in its own file and
// registers itself in commands from an init function.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to the subcommand named by args[0] and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "contigo: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd.run(ctx, args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: contigo COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nRun \"contigo COMMAND --help\" for the flags of a command.")
}
