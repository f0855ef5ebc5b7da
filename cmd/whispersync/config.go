package main

import (
	"context"
	"fmt"

	"github.com/whispersync/whispersync/app"
	"github.com/whispersync/whispersync/secrets"
)

const configExamples = `  whispersync config show
  whispersync config show --json | jq .secrets
`

// redacted stands for every secret value in the configuration.
const redacted = "<redacted>"

// effectiveConfig is the configuration in effect. It holds references to
// secrets and the paths of key material, never their contents.
type effectiveConfig struct {
	DataDir        string            `json:"data_dir"`
	KeyFile        string            `json:"key_file"`
	KeySource      app.KeySource     `json:"key_source"`
	User           string            `json:"user"`
	KeyPolicy      app.KeyPolicy     `json:"key_policy"`
	SecretRotation string            `json:"secret_rotation_default"`
	Secrets        []secretReference `json:"secrets"`
}

type secretReference struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Reference string `json:"reference"`
	Value     string `json:"value"`
	Overdue   bool   `json:"overdue"`
}

func runConfig(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("config", "config show [--json]\n\nPrints the configuration in effect: flags, environment, key policy and the\nsecrets it refers to. Secret values are never printed, only references such\nas secret:smtp-password#AWSCURRENT; key files and passphrases only by path.", configExamples)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "show" {
		return usagef("config needs the action show\nhint: whispersync config show")
	}

	a, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	policy, err := a.KeyPolicy(ctx)
	if err != nil {
		return err
	}
	list, err := a.Secrets.List(ctx, secrets.Actor{Principal: m.operator().Principal, Source: m.operator().Source})
	if err != nil {
		return err
	}
	cfg := effectiveConfig{
		DataDir: m.DataDir, KeyFile: m.KeyFile, KeySource: a.KeySource(), User: defaultUser(m.Getenv),
		KeyPolicy: policy, SecretRotation: secrets.DefaultRotation.String(), Secrets: []secretReference{},
	}
	for _, s := range list {
		cfg.Secrets = append(cfg.Secrets, secretReference{Name: s.Name, Type: s.Type, Reference: "secret:" + s.Name + "#" + secrets.StageCurrent, Value: redacted, Overdue: s.Overdue})
	}
	if *asJSON {
		return m.printJSON(cfg)
	}

	w := m.Stdout
	fmt.Fprintf(w, "data_dir                 %s\n", cfg.DataDir)
	fmt.Fprintf(w, "key_file                 %s\n", cfg.KeyFile)
	fmt.Fprintf(w, "key_source               %s\n", cfg.KeySource.Kind)
	if cfg.KeySource.PassphraseFile != "" {
		fmt.Fprintf(w, "passphrase_file          %s (contents %s)\n", cfg.KeySource.PassphraseFile, redacted)
	}
	fmt.Fprintf(w, "user                     %s\n", cfg.User)
	fmt.Fprintf(w, "kek_rotation             %s\n", period(cfg.KeyPolicy.KEKRotation, zeroTime))
	fmt.Fprintf(w, "data_key_rotation        %s\n", period(cfg.KeyPolicy.DataKeyRotation, zeroTime))
	fmt.Fprintf(w, "secret_rotation_default  %s\n", cfg.SecretRotation)
	for _, s := range cfg.Secrets {
		fmt.Fprintf(w, "secret %-17s %s = %s (%s)\n", s.Name, s.Reference, s.Value, s.Type)
	}
	return nil
}
