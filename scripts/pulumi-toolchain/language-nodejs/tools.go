//go:build tools

// Keeps the language host's main package in this module's build list.
package tools

import _ "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3"
