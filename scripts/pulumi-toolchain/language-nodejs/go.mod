// Wrapper module for the Node.js language host
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3), built by scripts/pulumi-toolchain.js.
// Its own go.mod replaces pkg/v3 and sdk/v3 with folders of the Pulumi repo (and requires pkg/v3 at the
// placeholder version v3.0.0-00010101000000-000000000000), so the replacements are repeated here with the
// released modules of the same version. The Go module proxy did not serve this module when this was
// written (see docs/engine.md), so there is no go.sum: the script checks the proxy first and builds a copy
// of this folder under .local/ with -mod=mod when it is served.
module neonhub-db/pulumi-toolchain/language-nodejs

go 1.25.11

require (
	github.com/pulumi/pulumi/pkg/v3 v3.248.0
	github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 v3.248.0
	github.com/pulumi/pulumi/sdk/v3 v3.248.0
)

replace (
	github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
	github.com/pulumi/pulumi/pkg/v3 => github.com/pulumi/pulumi/pkg/v3 v3.248.0
	github.com/pulumi/pulumi/sdk/v3 => github.com/pulumi/pulumi/sdk/v3 v3.248.0
)
