// Command whispersync turns voice-memo transcripts into a work journal, a
// searchable memory archive and project scaffolds for ideas, and keeps all of
// it encrypted and audited. Run `whispersync help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	os.Exit(m.Run(ctx, os.Args[1:]))
}
