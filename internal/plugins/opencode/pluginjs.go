package opencode

import (
	"bytes"
	"encoding/json"
	"strings"
)

// pluginMarker starts every plugin file coda writes; remove deletes the
// file only when it still carries it.
const pluginMarker = "// coda-databricks: OpenCode plugin written by `coda setup opencode`."

// pluginTemplate is the plugin OpenCode loads from its config dir's
// plugin/ folder. It exports exactly one function, because OpenCode calls
// every export of a plugin module as a plugin. The hook runs before every
// model request (input.model is the request's model, whose providerID
// names the provider; input.provider.info.id is the same id) and reads
// the token file synchronously each time, so a rotation reaches the next
// request of a running session. Any other case of the header is removed
// so exactly one Authorization header is sent.
const pluginTemplate = pluginMarker + `
// coda owns this file: it rewrites it on every setup and deletes it on
// "coda setup --remove opencode", so edits here are lost.
//
// Before every request to the "coda-databricks" provider it reads the
// workspace token that coda keeps current in TOKEN_FILE (0600, rewritten
// after every rotation) and sends it as the Authorization header, so
// running OpenCode sessions follow coda's token rotations. This file
// holds no secret.
import { readFileSync } from "node:fs"

const PROVIDER = "coda-databricks"
const TOKEN_FILE = @TOKEN_FILE@

export const CodaDatabricks = async () => ({
  "chat.headers": async (input, output) => {
    const provider = input?.model?.providerID ?? input?.provider?.info?.id
    if (provider !== PROVIDER) return
    let token = ""
    try {
      token = readFileSync(TOKEN_FILE, "utf8").trim()
    } catch (err) {
      throw new Error("coda: cannot read the Databricks token file " + TOKEN_FILE + " (" + (err?.code ?? err) + "): run \"coda login\", then \"coda setup opencode\"")
    }
    if (!token) {
      throw new Error("coda: the Databricks token file " + TOKEN_FILE + " is empty: run \"coda login\", then \"coda setup opencode\"")
    }
    for (const name of Object.keys(output.headers)) {
      if (name.toLowerCase() === "authorization") delete output.headers[name]
    }
    output.headers["Authorization"] = "Bearer " + token
  },
})
`

// pluginJS returns the plugin with the token file's absolute path baked in.
func pluginJS(tokenFile string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(tokenFile) // a JSON string is a valid JavaScript string literal
	return []byte(strings.Replace(pluginTemplate, "@TOKEN_FILE@", strings.TrimSpace(b.String()), 1))
}
