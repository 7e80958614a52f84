// coda-databricks: OpenCode plugin written by `coda setup opencode`.
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
const TOKEN_FILE = "$STATE/tokens/opencode-default"

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
