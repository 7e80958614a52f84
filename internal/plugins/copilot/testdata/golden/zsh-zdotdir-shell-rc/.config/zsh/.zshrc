# >>> coda copilot >>>
# Written by coda setup --shell-rc: loads GitHub Copilot CLI's settings for the Databricks workspace.
# coda setup copilot --shell-rc=false (or coda setup --remove copilot) takes this block out.
if [ -f '$STATE/env/copilot.sh' ]; then . '$STATE/env/copilot.sh'; fi
# <<< coda copilot <<<
