// Command aimsvault collects ISO/IEC 42001 audit evidence into a
// tamper-evident vault. Each subcommand lives in its own file; this one wires
// the root command and turns errors into one line on stderr and an exit code.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// exitError carries an exit code without a message of its own: the command
// already printed what went wrong (verify's report, collect's failed runs).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func run(args []string, stdout, stderr io.Writer) int {
	app := &app{stdout: stdout, stderr: stderr}
	root := app.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	app.close()
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "aimsvault: "+userMessage(err))
	return 1
}

// userMessage renders err for a person: config problems one per line, and
// other errors on one line.
func userMessage(err error) string {
	var ce *config.Errors
	if errors.As(err, &ce) {
		return ce.Error()
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "aimsvault",
		Short: "Evidence vault for ISO/IEC 42001 AI management system audits",
		Long: `aimsvault collects audit evidence from where AI work happens, stores each
artifact in a tamper-evident vault, and maps it to the ISO/IEC 42001 clauses
and Annex A controls it evidences.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := os.Getenv("AIMSVAULT_CONFIG")
	if def == "" {
		def = "aimsvault.yaml"
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", def, "config file (or $AIMSVAULT_CONFIG)")
	root.AddCommand(
		a.initCommand(),
		a.collectCommand(),
		a.serveCommand(),
		a.demoCommand(),
		a.connectorsCommand(),
		a.evidenceCommand(),
		a.coverageCommand(),
		a.systemsCommand(),
		a.findingsCommand(),
		a.controlsCommand(),
		a.rulesCommand(),
		a.runsCommand(),
		a.logsCommand(),
		a.verifyCommand(),
		a.checkpointCommand(),
		a.proveCommand(),
		a.bundleCommand(),
		a.tokenCommand(),
		a.accessLogCommand(),
		versionCommand(),
	)
	return root
}
