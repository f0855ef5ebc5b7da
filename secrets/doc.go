// Package secrets is the encrypted secret store: API keys, tokens, webhook
// URLs and passwords that WhisperSync needs to reach other services, with
// the semantics of AWS Secrets Manager.
//
// # Model
//
// A secret has a name, a type and versions. The newest version carries the
// stage StageCurrent and the one before it StagePrevious. Older versions are
// deleted. So after a rotation the previous credential stays readable while
// the new one propagates. Every secret has a rotation period (DefaultRotation
// when not set); a secret whose newest version is older than its period is
// overdue.
//
// Rotation runs a hook chosen by the secret's type: TypeGenerate draws a
// random value, TypeProvider asks a Provider for a new credential, and
// TypeNotify cannot rotate by itself, so it records a finding asking the
// secret's contact for a new value and hands it to the FindingSink, which
// the application sets to list and publish it with its other findings.
//
// # Storage
//
// Secrets are items in whispersync.Tables under the system owner, so the
// same code runs on SQLite and on DynamoDB. Each value is sealed under the
// system data key with the secret's name and version as its identity; the
// metadata item is sealed too, and its plaintext attributes hold only the
// type, the current version and the next rotation date.
//
// # What never holds a value
//
// Errors, log lines and audit events name secrets and versions, never
// values. Values enter only as byte slices, never from a command line, and
// leave only through Get.
package secrets
